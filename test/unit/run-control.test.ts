// Ctrl-C as the engine and the CLI see it: an aborted run starts no op or handler after the
// abort, the command running then ends on its own; the first Ctrl-C says what still runs and
// the second abandons, naming what may still run, with exit 130.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { run } from '../../src/engine/run.ts';
import type { EngineEvent } from '../../src/engine/events.ts';
import type { Op } from '../../src/engine/types.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import { interruptHandler } from '../../src/cli/interrupt.ts';
import { splitProgress, PROGRESS_TAG } from '../../src/ssh/connection.ts';
import { LocalConnection, localHost } from '../fixtures/local-connection.ts';

const touch = (id: string, file: string, before = ''): Op => ({
  id,
  facts: [],
  plan: () => ({ summary: id, commands: [{ kind: 'exec', argv: ['sh', '-c', `${before}touch "$1"`, 'sh', file] }] }),
});

test('engine: an abort while an op runs lets that op end, then starts no other op or handler, on any host', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-abort-'));
  const f = (name: string) => path.join(dir, name);
  const controller = new AbortController();
  const events: EngineEvent[] = [];
  const conns: LocalConnection[] = [];
  const report = await run({
    mode: 'apply',
    hosts: [localHost('a'), localHost('b')],
    work: new Map([
      ['a', [{ phase: 'base', ops: [touch('first', f('a1'), 'sleep 0.3; '), touch('second', f('a2'))], handlers: [{ id: 'h', action: { kind: 'exec', argv: ['touch', f('ah')] } }] }]],
      // b's work waits for a's (without a need it would start at once, beside a's).
      ['b', [{ phase: 'app', needs: [{ phase: 'base', host: 'a' }], ops: [touch('later', f('b1'))] }]],
    ]),
    connect: async (h) => {
      const c = new LocalConnection(h, dir);
      conns.push(c);
      return c;
    },
    redactor: new Redactor(),
    emit: (e) => {
      events.push(e);
      // Ctrl-C while host a's first op runs: its command is then among those still running.
      if (e.type === 'op:start' && e.op === 'first') {
        setTimeout(() => {
          assert.equal(conns.find((c) => c.host.name === 'a')!.running().length, 1);
          controller.abort();
        }, 100);
      }
    },
    signal: controller.signal,
  });
  assert.ok(fs.existsSync(f('a1')), 'the op running at the abort finished');
  for (const never of ['a2', 'ah', 'b1']) assert.not.ok(fs.existsSync(f(never)), `${never} was not started`);
  assert.is(report.hosts.a!.error, 'interrupted before second');
  assert.equal(events.filter((e) => e.type === 'op:start').map((e) => (e as { op: string }).op), ['first']);
  assert.equal(events.filter((e) => e.type === 'phase:start').map((e) => (e as { phase: string }).phase), ['base'], 'no phase starts after the abort');
});

function capture() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { out, text: () => text };
}

test('Ctrl-C once: says what still runs and aborts; twice: names what may still run and exits 130', () => {
  const controller = new AbortController();
  const running = [
    { host: 'web-01', command: 'apt-get -q -y install nginx' },
    { host: 'web-02', command: 'dpkg --configure -a' },
  ];
  const exits: number[] = [];
  const c = capture();
  const handler = interruptHandler(controller, { running: () => running }, c.out, { exit: (code) => exits.push(code) });
  handler();
  assert.ok(controller.signal.aborted);
  assert.equal(exits, []);
  assert.is(
    c.text(),
    '\nstopping: no new step starts, each host ends the step it is in; waiting for what still runs (each command within its own deadline; Ctrl-C again to abandon it):\n  web-01: apt-get -q -y install nginx\n  web-02: dpkg --configure -a\n',
  );
  running.pop();
  handler();
  assert.equal(exits, [130]);
  assert.match(c.text(), /\nabandoned; these may still run on the servers:\n  web-01: apt-get -q -y install nginx\nthe run lock ends as tandem quits \(with its connections\): a new run may meet these still running\n$/);
});

test('Ctrl-C with nothing running: says so, and a second one quits', () => {
  const controller = new AbortController();
  const exits: number[] = [];
  const c = capture();
  const handler = interruptHandler(controller, { running: () => [] }, c.out, { exit: (code) => exits.push(code) });
  handler();
  handler();
  assert.is(c.text(), '\nstopping: no new step starts, each host ends the step it is in\n\nabandoned\n');
  assert.equal(exits, [130]);
});

test('progress lines: tagged lines of stderr are progress, the rest stays what a failure shows', () => {
  const stderr = `${PROGRESS_TAG}the dpkg lock is held by pid 7 (apt-get install x) (waited 0 s of 120)\nE: real error\n${PROGRESS_TAG}again\n`;
  assert.equal(splitProgress(stderr), { progress: ['the dpkg lock is held by pid 7 (apt-get install x) (waited 0 s of 120)', 'again'], rest: 'E: real error\n' });
  assert.equal(splitProgress('no progress\n'), { progress: [], rest: 'no progress\n' });
});

test.run();
