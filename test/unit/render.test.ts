// The plan and summary text a user reads, from a hand-made report: hosts, diffs, counts; colors
// only on a terminal.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { colorizer, planText, summaryText, timingsText } from '../../src/cli/render/format.ts';
import type { RunReport } from '../../src/engine/events.ts';

const stream = (isTTY: boolean) => ({ isTTY }) as unknown as NodeJS.WriteStream;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/;

const DIFF = '--- /etc/nginx/nginx.conf\n+++ /etc/nginx/nginx.conf\n@@ -1,2 +1,2 @@\n worker_processes auto;\n-listen 80;\n+listen 8080;\n';

function report(mode: 'plan' | 'apply'): RunReport {
  return {
    mode,
    summary: { ok: 5, changed: 3, failed: 1 },
    hosts: {
      'web-01': {
        ok: 3,
        changed: 2,
        failed: 0,
        ops: [
          { host: 'web-01', phase: 'base', op: 'apt curl nginx', status: 'ok', durationMs: 3 },
          { host: 'web-01', phase: 'web', op: 'file /etc/nginx/nginx.conf', status: 'changed', summary: 'update /etc/nginx/nginx.conf', diff: DIFF, commands: ['write /etc/nginx/nginx.conf (root:root 0644)'], durationMs: 4 },
          { host: 'web-01', phase: 'web', op: 'service nginx', status: 'pending', summary: 'depends on the changes above; known after they are applied', durationMs: 1 },
          { host: 'web-01', phase: 'base', op: 'directory /etc/tandem', status: 'ok', durationMs: 1 },
          { host: 'web-01', phase: 'base', op: 'timezone Etc/UTC', status: 'ok', durationMs: 1 },
        ],
        handlers: [],
        warnings: [],
      },
      'web-02': {
        ok: 2,
        changed: 1,
        failed: 1,
        ops: [
          { host: 'web-02', phase: 'base', op: 'apt curl nginx', status: 'changed', summary: 'install nginx', commands: ['env DEBIAN_FRONTEND=noninteractive apt-get install nginx'], durationMs: 9 },
          { host: 'web-02', phase: 'base', op: 'timezone Etc/UTC', status: 'ok', durationMs: 1 },
          { host: 'web-02', phase: 'base', op: 'directory /etc/tandem', status: 'ok', durationMs: 1 },
          { host: 'web-02', phase: 'base', op: 'file /etc/tandem/host', status: 'failed', error: '`write /etc/tandem/host` exited with 1: No space left on device', durationMs: 2 },
        ],
        handlers: [],
        warnings: [],
        error: 'web-02: file /etc/tandem/host: `write /etc/tandem/host` exited with 1: No space left on device',
      },
    },
    roundTrips: { 'web-01': 1, 'web-02': 3 },
    durationMs: 2345,
  };
}

let savedNoColor: string | undefined;
test.before(() => {
  savedNoColor = process.env.NO_COLOR;
  delete process.env.NO_COLOR;
});
test.after(() => {
  if (savedNoColor === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = savedNoColor;
});

test('planText: per host, the count, every change with its diff; ok ops are not listed', () => {
  const text = planText(report('plan'), false, colorizer(stream(false)));
  assert.is(
    text,
    [
      'web-01: 2 to change, 3 ok',
      '  ~ file /etc/nginx/nginx.conf: update /etc/nginx/nginx.conf',
      '    --- /etc/nginx/nginx.conf',
      '    +++ /etc/nginx/nginx.conf',
      '    @@ -1,2 +1,2 @@',
      '     worker_processes auto;',
      '    -listen 80;',
      '    +listen 8080;',
      '  ? service nginx: depends on the changes above; known after they are applied',
      'web-02: 1 to change, 2 ok, 1 failed',
      '  ~ apt curl nginx: install nginx',
      '  ✖ failed file /etc/tandem/host: `write /etc/tandem/host` exited with 1: No space left on device',
    ].join('\n'),
  );
});

test('planText --verbose: the commands under each change', () => {
  const text = planText(report('plan'), true, colorizer(stream(false)));
  assert.match(text, '  ~ apt curl nginx: install nginx\n    $ env DEBIAN_FRONTEND=noninteractive apt-get install nginx');
  assert.match(text, '    +listen 8080;\n    $ write /etc/nginx/nginx.conf (root:root 0644)');
});

test('a host that could not connect: plan output (plan text, then summary, as the CLI prints) names the error once', () => {
  const r: RunReport = {
    mode: 'plan',
    summary: { ok: 0, changed: 0, failed: 1 },
    hosts: { 'db-01': { ok: 0, changed: 0, failed: 1, ops: [], handlers: [], warnings: [], error: 'db-01 (10.0.0.3:22) is unreachable: connect ECONNREFUSED' } },
    roundTrips: { 'db-01': 0 },
    durationMs: 10,
  };
  const c = colorizer(stream(false));
  const out = planText(r, false, c) + '\n' + summaryText(r, c);
  assert.ok(out.startsWith('db-01: 0 to change, 0 ok, 1 failed\n'), out);
  assert.is(out.split('is unreachable: connect ECONNREFUSED').length - 1, 1, out);
  assert.match(out, '  ✖ db-01 (10.0.0.3:22) is unreachable: connect ECONNREFUSED');
  assert.match(out, /\nFAILED: 0 ok, 0 to change, 1 failed in 0\.0s$/);
});

test('summaryText: per-host counts with remote commands, host errors, and the total line', () => {
  const c = colorizer(stream(false));
  assert.is(
    summaryText(report('apply'), c),
    [
      'web-01: 3 ok, 2 changed, 0 failed (1 remote commands)',
      'web-02: 2 ok, 1 changed, 1 failed (3 remote commands)',
      '  ✖ web-02: file /etc/tandem/host: `write /etc/tandem/host` exited with 1: No space left on device',
      'FAILED: 5 ok, 3 changed, 1 failed in 2.3s',
    ].join('\n'),
  );
  const clean: RunReport = { ...report('plan'), summary: { ok: 4, changed: 2, failed: 0 } };
  assert.match(summaryText(clean, c), /\ndone: 4 ok, 2 to change, 0 failed in 2\.3s$/);
  assert.match(summaryText(clean, c), 'web-01: 3 ok, 2 to change, 0 failed');
});

test('timingsText (--verbose): the run\'s stages that ran, the total, and every host\'s stages', () => {
  const text = timingsText(
    {
      inventoryMs: 20,
      releaseMs: 3,
      recipesMs: 7,
      engineMs: 400,
      totalMs: 450,
      hosts: { 'web-01': { connectMs: 120, factsMs: 250, planMs: 2, applyMs: 0, handlersMs: 0 } },
    },
    colorizer(stream(false)),
  );
  assert.is(
    text,
    'time: inventory 20 ms, release 3 ms, recipes 7 ms, engine 400 ms, total 450 ms\n' +
      '  web-01: connect 120 ms, facts 250 ms, plan 2 ms, apply 0 ms, handlers 0 ms',
  );
});

test('colors: none when the stream is not a terminal or NO_COLOR is set; some on a terminal', () => {
  const r = report('plan');
  const plain = planText(r, true, colorizer(stream(false))) + summaryText(r, colorizer(stream(false)));
  assert.not.match(plain, ANSI);
  const tty = planText(r, true, colorizer(stream(true)));
  assert.match(tty, ANSI);
  // Colored, the same words are there.
  assert.is(tty.replace(new RegExp(ANSI.source, 'g'), ''), planText(r, true, colorizer(stream(false))));
  process.env.NO_COLOR = '1';
  try {
    assert.not.match(planText(r, true, colorizer(stream(true))), ANSI);
  } finally {
    delete process.env.NO_COLOR;
  }
});

test.run();
