// The engine end to end on this machine: ops on files in a temp dir, run through a Connection that
// executes with `sh -c` locally. What a user checks: what changed on disk, the report, the round
// trips, the events, and that a failed validation leaves the previous files in place.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/engine/run.ts';
import type { EngineEvent, Mode, RunReport } from '../../src/engine/events.ts';
import type { Handler, HostWork, Op } from '../../src/engine/types.ts';
import { absent, directory, file, symlink } from '../../src/ops/file.ts';
import { fileFact } from '../../src/facts/file.ts';
import { peerFact } from '../../src/engine/facts.ts';
import { ValidationError } from '../../src/errors.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import type { HostSpec } from '../../src/inventory/types.ts';
import { LocalConnection, localHost, localOwner } from '../fixtures/local-connection.ts';

const { owner, group } = localOwner();
const own = { owner, group };

let root = '';
let dir = '';
let n = 0;

test.before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-engine-'));
});
test.before.each(() => {
  dir = path.join(root, `t${++n}`);
  fs.mkdirSync(dir);
});
test.after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const p = (...parts: string[]) => path.join(dir, ...parts);
/** What tandem keeps on the host for this test (backups, owed handlers); the same across runs. */
const stateDir = () => path.join(root, `state-${n}`);
const owedMarkers = () => (fs.existsSync(path.join(stateDir(), '.pending-handlers')) ? ls(path.join(stateDir(), '.pending-handlers')) : []);
const read = (f: string) => fs.readFileSync(f, 'utf8');
const modeOf = (f: string) => (fs.statSync(f).mode & 0o7777).toString(8).padStart(4, '0');
const ls = (d: string) => fs.readdirSync(d).sort();

interface Outcome {
  report: RunReport;
  events: EngineEvent[];
  conns: Map<string, LocalConnection>;
}

async function go(mode: Mode, work: Record<string, HostWork[]>, hosts?: HostSpec[]): Promise<Outcome> {
  const events: EngineEvent[] = [];
  const conns = new Map<string, LocalConnection>();
  const report = await run({
    mode,
    hosts: hosts ?? Object.keys(work).map((name) => localHost(name)),
    work: new Map(Object.entries(work)),
    connect: async (h) => {
      const c = new LocalConnection(h, stateDir());
      conns.set(h.name, c);
      return c;
    },
    redactor: new Redactor(),
    emit: (e) => events.push(e),
  });
  return { report, events, conns };
}

/** An op with no facts that always runs one shell command. */
function command(id: string, script: string): Op {
  return {
    id,
    facts: [],
    plan: () => ({ summary: id, commands: [{ kind: 'exec', argv: ['sh', '-c', script] }] }),
  };
}

const statuses = (r: RunReport, host: string) => r.hosts[host]!.ops.map((o) => `${o.op.replace(dir, '')}=${o.status}`);

// ---- the first-contact gate (the run lock) ----------------------------------------------------

async function gated(refuse: string[], work: Record<string, HostWork[]>) {
  const conns = new Map<string, LocalConnection>();
  const admitted: string[] = [];
  const events: EngineEvent[] = [];
  const result = await run({
    mode: 'apply',
    hosts: Object.keys(work).map((name) => localHost(name)),
    work: new Map(Object.entries(work)),
    connect: async (h) => conns.get(h.name) ?? conns.set(h.name, new LocalConnection(h, stateDir())).get(h.name)!,
    redactor: new Redactor(),
    emit: (e) => events.push(e),
    gate: {
      fact: (host) => ({ id: 'gate', script: `echo "gate of ${host}"`, parse: (out) => out.trim() }),
      async admit(host, _conn, reading) {
        admitted.push(`${host}: ${String(reading)}`);
        if (refuse.includes(host)) throw new ValidationError(`${host}: refused by the gate`);
      },
    },
  }).then((report) => ({ report }), (err: unknown) => ({ err: err as Error }));
  return { result, conns, admitted: admitted.sort(), events };
}

test('gate: read first in the first fact batch; admitted everywhere, a no-op apply is still one round trip per host', async () => {
  await gated([], { a: stack(), b: stack() });
  const { result, conns, admitted } = await gated([], { a: stack(), b: stack() });
  assert.equal(admitted, ['a: gate of a', 'b: gate of b']);
  assert.ok('report' in result);
  assert.equal(result.report.roundTrips, { a: 1, b: 1 });
  assert.is(result.report.summary.changed, 0);
  const batch = conns.get('a')!.log[0]!;
  assert.ok(batch.indexOf('gate of a') < batch.indexOf('.pending-handlers'), 'the gate comes before every fact');
});

test('gate: one host refused stops the whole run before any unit starts, with that error', async () => {
  const { result, conns, events } = await gated(['b'], { a: stack(), b: [{ phase: 'base', ops: [command('touch', `touch ${p('b-ran')}`)] }] });
  assert.ok('err' in result);
  assert.is(result.err.message, 'b: refused by the gate');
  assert.not.ok(fs.existsSync(p('etc')), 'nothing changed on the admitted host');
  assert.not.ok(fs.existsSync(p('b-ran')), 'nothing changed on the refused host');
  for (const c of conns.values()) assert.is(c.roundTrips, 1);
  // Every host's view is told the run ended for it (a progress display waits for that).
  const ends = events.filter((e) => e.type === 'host:failed' || e.type === 'host:end').map((e) => (e.type === 'host:failed' ? `${e.host} failed: ${e.error}` : `${e.host} end`));
  assert.equal(ends.sort(), ['a end', 'a failed: stopped before any change: b refused the run', 'b end', 'b failed: b: refused by the gate']);
});

// ---- converge, then nothing ------------------------------------------------------------------

function stack(): HostWork[] {
  return [
    {
      phase: 'base',
      ops: [
        directory({ path: p('etc'), mode: '0755', ...own }),
        file({ path: p('etc', 'app.conf'), content: 'port = 3000\nworkers = 2\n', mode: '0640', ...own }),
        file({ path: p('etc', 'no-newline.txt'), content: 'the end', mode: '0644', ...own }),
        file({ path: p('mode-only'), content: 'same\n', mode: '0600', ...own }),
        symlink(p('current'), p('etc', 'app.conf')),
        absent(p('stale.pid')),
      ],
    },
  ];
}

test('apply converges; a second apply changes nothing in exactly one round trip', async () => {
  fs.writeFileSync(p('mode-only'), 'same\n');
  fs.chmodSync(p('mode-only'), 0o644);
  fs.writeFileSync(p('stale.pid'), '123\n');

  const first = await go('apply', { h1: stack() });
  assert.equal(first.report.summary, { ok: 0, changed: 6, failed: 0 });
  assert.equal(statuses(first.report, 'h1'), [
    'directory /etc=changed',
    'file /etc/app.conf=changed',
    'file /etc/no-newline.txt=changed',
    'file /mode-only=changed',
    'symlink /current=changed',
    'absent /stale.pid=changed',
  ]);
  assert.is(first.report.hosts.h1!.ops[3]!.summary, `${p('mode-only')}: mode 0644 -> 0600`);
  assert.is(read(p('etc', 'app.conf')), 'port = 3000\nworkers = 2\n');
  assert.is(modeOf(p('etc', 'app.conf')), '0640');
  assert.is(read(p('etc', 'no-newline.txt')), 'the end');
  assert.is(modeOf(p('mode-only')), '0600');
  assert.is(fs.readlinkSync(p('current')), p('etc', 'app.conf'));
  assert.not.ok(fs.existsSync(p('stale.pid')));
  // Atomic writes leave no temp files behind.
  assert.equal(ls(p('etc')), ['app.conf', 'no-newline.txt']);
  assert.equal(ls(dir), ['current', 'etc', 'mode-only']);

  const second = await go('apply', { h1: stack() });
  assert.equal(second.report.summary, { ok: 6, changed: 0, failed: 0 });
  assert.equal(second.report.roundTrips, { h1: 1 });
});

test('plan changes nothing on disk and shows the diff; its only round trip is the facts', async () => {
  fs.writeFileSync(p('app.conf'), 'port = 3000\nworkers = 2\n');
  fs.chmodSync(p('app.conf'), 0o644);
  const work = {
    h1: [
      {
        phase: 'base' as const,
        ops: [
          file({ path: p('app.conf'), content: 'port = 3000\nworkers = 4\n', mode: '0644', ...own }),
          file({ path: p('new.conf'), content: 'x\n', mode: '0644', ...own }),
          directory({ path: p('releases'), mode: '0755', ...own }),
        ],
      },
    ],
  };
  const { report } = await go('plan', work);
  assert.is(report.mode, 'plan');
  assert.equal(report.summary, { ok: 0, changed: 3, failed: 0 });
  const op = report.hosts.h1!.ops[0]!;
  assert.is(op.status, 'changed');
  assert.is(op.summary, `update ${p('app.conf')}`);
  assert.match(op.diff!, `@@ -1,2 +1,2 @@\n port = 3000\n-workers = 2\n+workers = 4\n`);
  assert.equal(op.commands, [`write ${p('app.conf')} (${owner}:${group} 0644)`]);
  assert.equal(report.roundTrips, { h1: 1 });
  assert.is(read(p('app.conf')), 'port = 3000\nworkers = 2\n');
  assert.equal(ls(dir), ['app.conf']);
});

test('plan: an op whose facts an earlier op changes is pending, not "ok"', async () => {
  const f = p('pidfile');
  const { report } = await go('plan', {
    h1: [{ phase: 'base', ops: [file({ path: f, content: '1\n', mode: '0644', ...own }), absent(f)] }],
  });
  const [, second] = report.hosts.h1!.ops;
  assert.is(second!.status, 'pending');
  assert.is(second!.summary, 'depends on the changes above; known after they are applied');
  assert.is(report.summary.ok, 0);
});

// ---- handlers ------------------------------------------------------------------------------

function notifiedWork(validate: string[] | undefined, action: string, conf: string, fresh: string): HostWork[] {
  const handler: Handler = {
    id: 'reload demo',
    validate: validate ? { kind: 'exec', argv: validate } : undefined,
    action: { kind: 'exec', argv: ['sh', '-c', action] },
  };
  return [
    {
      phase: 'web',
      ops: [
        file({ path: p('demo.conf'), content: conf, mode: '0644', ...own, notify: ['reload demo'] }),
        file({ path: p('conf.d', 'extra.conf'), content: fresh, mode: '0644', ...own, notify: ['reload demo'] }),
      ],
      handlers: [handler],
    },
  ];
}

test('handler: a failed validation restores the previous files, removes new ones and leaves the service alone', async () => {
  fs.writeFileSync(p('demo.conf'), 'good = 1\n');
  fs.chmodSync(p('demo.conf'), 0o664);
  fs.mkdirSync(p('conf.d'));
  const validate = ['sh', '-c', 'echo "demo.conf:3: unknown directive \\"bogus\\"" >&2; exit 3'];
  const { report, events } = await go('apply', {
    h1: notifiedWork(validate, `echo reloaded >> ${p('reloads.log')}`, 'good = 1\nbogus\n', 'new = 1\n'),
  });
  // The files are as they were before the run, backups gone, and the action never ran.
  assert.is(read(p('demo.conf')), 'good = 1\n');
  assert.is(modeOf(p('demo.conf')), '0664');
  assert.equal(ls(p('conf.d')), []);
  assert.equal(ls(dir), ['conf.d', 'demo.conf']);
  // The report says which handler failed and why, with the validator's own output.
  const h = report.hosts.h1!;
  assert.is(h.handlers.length, 1);
  assert.is(h.handlers[0]!.handler, 'reload demo');
  assert.is(h.handlers[0]!.status, 'failed');
  assert.match(h.handlers[0]!.error!, 'validation failed, previous files restored, service left running as it was');
  assert.match(h.handlers[0]!.error!, 'exited with 3: demo.conf:3: unknown directive "bogus"');
  assert.is(report.summary.failed, 1);
  assert.match(h.error!, 'handler reload demo');
  assert.ok(events.some((e) => e.type === 'handler:end' && e.status === 'failed'));
  assert.ok(events.some((e) => e.type === 'host:failed' && e.host === 'h1'));
});

test('handler: a validator that reads the new file; valid -> the action runs once and backups are removed', async () => {
  fs.writeFileSync(p('demo.conf'), 'valid old\n');
  fs.mkdirSync(p('conf.d'));
  const validate = ['grep', '-q', '^valid', p('demo.conf')];
  const log = p('reloads.log');
  const bad = await go('apply', { h1: notifiedWork(validate, `echo reloaded >> ${log}`, 'broken\n', 'x\n') });
  assert.is(bad.report.hosts.h1!.handlers[0]!.status, 'failed');
  assert.is(read(p('demo.conf')), 'valid old\n');
  assert.not.ok(fs.existsSync(p('conf.d', 'extra.conf')));
  assert.not.ok(fs.existsSync(log));

  const good = await go('apply', { h1: notifiedWork(validate, `echo reloaded >> ${log}`, 'valid new\n', 'x\n') });
  assert.equal(good.report.hosts.h1!.handlers.map((h) => [h.handler, h.status]), [['reload demo', 'changed']]);
  assert.is(good.report.summary.failed, 0);
  assert.is(read(p('demo.conf')), 'valid new\n');
  assert.is(read(p('conf.d', 'extra.conf')), 'x\n');
  assert.is(read(log), 'reloaded\n');
  assert.equal(ls(dir), ['conf.d', 'demo.conf', 'reloads.log']);
  assert.equal(ls(p('conf.d')), ['extra.conf']);

  // Nothing changed: no handler runs.
  const again = await go('apply', { h1: notifiedWork(validate, `echo reloaded >> ${log}`, 'valid new\n', 'x\n') });
  assert.equal(again.report.hosts.h1!.handlers, []);
  assert.is(read(log), 'reloaded\n');
  assert.is(again.report.roundTrips.h1, 1);
});

test('handler owed: a marker precedes the change and goes when the handler has run', async () => {
  fs.mkdirSync(p('conf.d'));
  const { conns } = await go('apply', { h1: notifiedWork(undefined, `echo reloaded >> ${p('reloads.log')}`, 'a\n', 'b\n') });
  const log = conns.get('h1')!.log;
  const markAt = log.findIndex((c) => c.includes('.pending-handlers/reload%20demo'));
  const putAt = log.findIndex((c) => c.includes(p('demo.conf')) && c.includes('mktemp'));
  assert.ok(markAt >= 0 && markAt < putAt, 'the marker is written before the file');
  assert.is(log.filter((c) => c.includes('.pending-handlers') && c.includes('mkdir')).length, 1, 'one marker write for both files');
  assert.equal(owedMarkers(), []);
  assert.is(read(p('reloads.log')), 'reloaded\n');
});

test('handler owed by a run that died after writing the files: plan shows it, apply runs it once', async () => {
  fs.mkdirSync(p('conf.d'));
  const log = p('reloads.log');
  await go('apply', { h1: notifiedWork(undefined, `echo reloaded >> ${log}`, 'a\n', 'b\n') });
  // What a run killed between the write and the reload leaves: the new files and the marker.
  fs.writeFileSync(p('demo.conf'), 'c\n');
  fs.mkdirSync(path.join(stateDir(), '.pending-handlers'), { recursive: true });
  fs.writeFileSync(path.join(stateDir(), '.pending-handlers', 'reload%20demo'), '');
  const work = () => ({ h1: notifiedWork(undefined, `echo reloaded >> ${log}`, 'c\n', 'b\n') });

  const plan = await go('plan', work());
  assert.equal(statuses(plan.report, 'h1'), ['handler reload demo=changed', 'file /demo.conf=ok', 'file /conf.d/extra.conf=ok']);
  assert.match(plan.report.hosts.h1!.ops[0]!.summary!, /owed by an earlier apply that stopped before running it/);
  assert.is(read(log), 'reloaded\n', 'plan runs nothing');

  const apply = await go('apply', work());
  assert.equal(apply.report.hosts.h1!.handlers.map((h) => [h.handler, h.status, h.owed]), [['reload demo', 'changed', true]]);
  assert.is(read(log), 'reloaded\nreloaded\n');
  assert.equal(owedMarkers(), []);

  const again = await go('apply', work());
  assert.equal(again.report.hosts.h1!.handlers, []);
  assert.is(again.report.roundTrips.h1, 1);
});

test('a reload that fails stays owed: the next apply tries it again although no file changes', async () => {
  fs.mkdirSync(p('conf.d'));
  const log = p('reloads.log');
  const failing = await go('apply', { h1: notifiedWork(undefined, 'echo "reload: no such service" >&2; exit 1', 'a\n', 'b\n') });
  assert.is(failing.report.hosts.h1!.handlers[0]!.status, 'failed');
  assert.equal(owedMarkers(), ['reload%20demo']);
  const fixed = await go('apply', { h1: notifiedWork(undefined, `echo reloaded >> ${log}`, 'a\n', 'b\n') });
  assert.equal(statuses(fixed.report, 'h1'), ['file /demo.conf=ok', 'file /conf.d/extra.conf=ok']);
  assert.equal(fixed.report.hosts.h1!.handlers.map((h) => [h.handler, h.status]), [['reload demo', 'changed']]);
  assert.is(read(log), 'reloaded\n');
  assert.equal(owedMarkers(), []);
});

test('a validation failure owes nothing: the old files are back, so is the running config', async () => {
  fs.writeFileSync(p('demo.conf'), 'old\n');
  fs.mkdirSync(p('conf.d'));
  await go('apply', { h1: notifiedWork(['false'], 'true', 'new\n', 'b\n') });
  assert.is(read(p('demo.conf')), 'old\n');
  assert.equal(owedMarkers(), []);
});

test('an owed handler whose validation fails stays owed: the unvalidated files of the dead run keep failing loudly', async () => {
  fs.mkdirSync(p('conf.d'));
  fs.writeFileSync(p('demo.conf'), 'broken\n');
  fs.writeFileSync(p('conf.d', 'extra.conf'), 'b\n');
  fs.mkdirSync(path.join(stateDir(), '.pending-handlers'), { recursive: true });
  fs.writeFileSync(path.join(stateDir(), '.pending-handlers', 'reload%20demo'), '');
  const work = () => ({ h1: notifiedWork(['grep', '-q', '^valid', p('demo.conf')], 'true', 'broken\n', 'b\n') });
  const first = await go('apply', work());
  assert.equal(first.report.hosts.h1!.handlers.map((h) => [h.handler, h.status, h.owed]), [['reload demo', 'failed', true]]);
  assert.equal(owedMarkers(), ['reload%20demo']);
  const second = await go('apply', work());
  assert.is(second.report.hosts.h1!.handlers[0]!.status, 'failed', 'not a silent 0 changed');
});

// ---- failures --------------------------------------------------------------------------------

test('a failing op stops that host (later ops and phases); the other host finishes', async () => {
  for (const h of ['h1', 'h2']) fs.mkdirSync(p(h));
  fs.writeFileSync(p('h1', 'notified.conf'), 'old\n');
  const hostWork = (h: string, fail: boolean): HostWork[] => [
    {
      phase: 'base',
      ops: [
        file({ path: p(h, 'base.txt'), content: 'base\n', mode: '0644', ...own }),
        file({ path: p(h, 'notified.conf'), content: 'new\n', mode: '0644', ...own, notify: ['restart x'] }),
        ...(fail ? [command('break things', 'echo "disk full" >&2; exit 4')] : []),
        file({ path: p(h, 'after.txt'), content: 'after\n', mode: '0644', ...own }),
      ],
      handlers: [{ id: 'restart x', action: { kind: 'exec', argv: ['touch', p(h, 'restarted')] } }],
    },
    { phase: 'app', ops: [file({ path: p(h, 'app.txt'), content: 'app\n', mode: '0644', ...own })] },
  ];
  const { report, events } = await go('apply', { h1: hostWork('h1', true), h2: hostWork('h2', false) });

  assert.equal(ls(p('h1')), ['base.txt', 'notified.conf']);
  assert.is(read(p('h1', 'notified.conf')), 'old\n', 'a file written for a handler that never ran is put back');
  assert.equal(ls(p('h2')), ['after.txt', 'app.txt', 'base.txt', 'notified.conf', 'restarted']);

  assert.equal(report.summary, { ok: 0, changed: 2 + 4, failed: 1 });
  assert.is(report.hosts.h1!.failed, 1);
  assert.is(report.hosts.h2!.failed, 0);
  const failedOp = report.hosts.h1!.ops.find((o) => o.status === 'failed')!;
  assert.is(failedOp.op, 'break things');
  assert.is(failedOp.error, "`sh -c 'echo \"disk full\" >&2; exit 4'` exited with 4: disk full");
  assert.is(report.hosts.h1!.error, `h1: break things: ${failedOp.error}`);
  // Hosts start a phase independently: whether h1's base failed before h2 began app is a race,
  // so the phase's start may or may not still list h1; what counts is that h1's app was skipped.
  const appPhase = events.find((e) => e.type === 'phase:start' && e.phase === 'app');
  assert.ok(appPhase?.type === 'phase:start' && appPhase.hosts.includes('h2'));
  assert.ok(events.some((e) => e.type === 'work:skipped' && e.host === 'h1' && e.phase === 'app'), 'h1 skips app');
  assert.not.ok(events.some((e) => e.type === 'op:start' && e.host === 'h1' && e.phase === 'app'), 'h1 runs nothing of app');
  assert.ok(events.some((e) => e.type === 'host:end' && e.host === 'h1' && e.failed));
  assert.ok(events.some((e) => e.type === 'host:end' && e.host === 'h2' && !e.failed));
});

test('a host that cannot be reached fails with the reason; the others run', async () => {
  const events: EngineEvent[] = [];
  const report = await run({
    mode: 'apply',
    hosts: [localHost('up'), localHost('down')],
    work: new Map([
      ['up', [{ phase: 'base', ops: [file({ path: p('up.txt'), content: 'up\n', mode: '0644', ...own })] }]],
      ['down', [{ phase: 'base', ops: [file({ path: p('down.txt'), content: 'down\n', mode: '0644', ...own })] }]],
    ]),
    connect: async (h) => {
      if (h.name === 'down') throw new Error('down (127.0.0.1:22) is unreachable: connect ECONNREFUSED');
      return new LocalConnection(h);
    },
    redactor: new Redactor(),
    emit: (e) => events.push(e),
  });
  assert.ok(fs.existsSync(p('up.txt')));
  assert.not.ok(fs.existsSync(p('down.txt')));
  assert.is(report.hosts.down!.error, 'down (127.0.0.1:22) is unreachable: connect ECONNREFUSED');
  assert.equal(report.summary, { ok: 0, changed: 1, failed: 1 });
  assert.equal(report.roundTrips, { up: 2, down: 0 });
});

test('a file op where a directory stands fails, instead of writing into the directory', async () => {
  fs.mkdirSync(p('site.conf'));
  const { report } = await go('apply', {
    h1: [{ phase: 'base', ops: [file({ path: p('site.conf'), content: 'x\n', mode: '0644', ...own })] }],
  });
  assert.equal(ls(p('site.conf')), [], 'something was written inside the directory');
  assert.is(report.hosts.h1!.ops[0]!.status, 'failed');
  assert.is(report.summary.failed, 1);
});

// ---- events and round trips --------------------------------------------------------------------

test('events: run:start, phases in order, one connect per host, op start/end pairs, handler, host:end, run:end', async () => {
  const work: HostWork[] = [
    { phase: 'base', ops: [file({ path: p('a'), content: 'a\n', mode: '0644', ...own })] },
    {
      phase: 'app',
      ops: [file({ path: p('b'), content: 'b\n', mode: '0644', ...own, notify: ['noop'] }), directory({ path: p('d'), mode: '0755', ...own })],
      handlers: [{ id: 'noop', action: { kind: 'exec', argv: ['true'] } }],
    },
  ];
  const { report, events } = await go('apply', { h1: work });
  const seq = events.map((e) => {
    switch (e.type) {
      case 'run:start':
        return `run:start ${e.mode} ${e.hosts.join(',')} ${e.phases.join(',')}`;
      case 'phase:start':
        return `phase:start ${e.phase} ${e.hosts.join(',')}`;
      case 'host:phase':
        return `host:phase ${e.host} ${e.phase} ${e.ops}`;
      case 'op:start':
        return `op:start ${e.op.replace(dir, '')}`;
      case 'op:end':
        return `op:end ${e.op.replace(dir, '')} ${e.status}`;
      case 'handler:end':
        return `handler:end ${e.handler} ${e.status}`;
      case 'host:connect':
      case 'host:end':
        return `${e.type} ${e.host}`;
      default:
        return e.type;
    }
  });
  assert.equal(seq, [
    'run:start apply h1 base,app',
    'host:connect h1',
    'phase:start base h1',
    'host:phase h1 base 1',
    'op:start file /a',
    'op:end file /a changed',
    'phase:start app h1',
    'host:phase h1 app 2',
    'op:start file /b',
    'op:end file /b changed',
    'op:start directory /d',
    'op:end directory /d changed',
    'handler:end noop changed',
    'host:end h1',
    'run:end',
  ]);
  const last = events.at(-1)!;
  assert.ok(last.type === 'run:end' && last.report === report);
});

test('a fact re-read after a change costs one more round trip for all stale facts, not one per fact', async () => {
  const marker = p('marker');
  for (const f of ['a.conf', 'b.conf']) {
    fs.writeFileSync(p(f), `${f}\n`);
    fs.chmodSync(p(f), 0o644);
  }
  fs.mkdirSync(p('d'));
  fs.chmodSync(p('d'), 0o755);
  const markerFact = fileFact(marker);
  // Changes the host in a way the engine cannot narrow down: every fact is stale after it.
  const touch: Op = {
    id: 'touch marker',
    facts: [markerFact],
    plan: (f) =>
      f.get(markerFact).exists
        ? null
        : { summary: 'touch marker', commands: [{ kind: 'exec', argv: ['sh', '-c', `printf x > ${marker} && chmod 0644 ${marker}`] }] },
  };
  const work: HostWork[] = [
    {
      phase: 'base',
      ops: [
        touch,
        // Sees the marker written above only if its fact was read again.
        file({ path: marker, content: 'x', mode: '0644', ...own }),
        file({ path: p('a.conf'), content: 'a.conf\n', mode: '0644', ...own }),
        file({ path: p('b.conf'), content: 'b.conf\n', mode: '0644', ...own }),
        directory({ path: p('d'), mode: '0755', ...own }),
      ],
    },
  ];
  const { report, conns } = await go('apply', { h1: work });
  assert.equal(statuses(report, 'h1'), [
    'touch marker=changed',
    'file /marker=ok',
    'file /a.conf=ok',
    'file /b.conf=ok',
    'directory /d=ok',
  ]);
  // facts, the change, the stale facts again: three, whatever the number of facts.
  assert.is(report.roundTrips.h1, 3, conns.get('h1')!.log.join('\n----\n'));
});

test('a change that names the facts it invalidates re-reads only those, once', async () => {
  const work: HostWork[] = [
    {
      phase: 'base',
      ops: [
        file({ path: p('one'), content: '1\n', mode: '0644', ...own }),
        // Reads the file the first op wrote: one batch re-reads it.
        { ...file({ path: p('one'), content: '1\n', mode: '0644', ...own }), id: 'check one' },
        file({ path: p('two'), content: '2\n', mode: '0644', ...own }),
      ],
    },
  ];
  const { report } = await go('apply', { h1: work });
  assert.equal(statuses(report, 'h1'), ['file /one=changed', 'check one=ok', 'file /two=changed']);
  // facts, put one, re-read one, put two.
  assert.is(report.roundTrips.h1, 4);
});

// ---- other hosts' facts, and checks before any change ----------------------------------------

test("an op reads another host's fact as that host first read it, with no round trip of its own", async () => {
  fs.writeFileSync(p('h1-version'), '11.8\n');
  const version = fileFact(p('h1-version'));
  const seen: (string | undefined)[] = [];
  const fromPeer = (host: string): Op => {
    const f = peerFact(host, version);
    return { id: `read ${host}'s version`, facts: [f], plan: (v) => (seen.push(v.get(f)?.content), null) };
  };
  const { report } = await go('apply', {
    h1: [{ phase: 'base', ops: [file({ path: p('h1-version'), content: '12.0\n', mode: '0644', ...own })] }],
    h2: [{ phase: 'app', ops: [fromPeer('h1'), fromPeer('h9')] }],
  });
  // h1 changed the file in its base phase; h2 still sees what h1 said before any change.
  assert.equal(seen, ['11.8\n', undefined], 'a host outside the run reads as undefined');
  assert.is(report.roundTrips.h2, 1, 'h2: its own first batch only');
  assert.is(report.roundTrips.h1, 2, 'h1: one batch (its facts and the one h2 asked for), one change');
});

test('a failed check stops every host before any change; the others report no failure of their own', async () => {
  const check = (ok: boolean): Op => ({
    id: 'platform',
    facts: [],
    plan: () => {
      if (!ok) throw new ValidationError('runs a release tandem does not know');
      return null;
    },
  });
  const { report } = await go('apply', {
    h1: [{ phase: 'check', ops: [check(true)] }, { phase: 'base', ops: [file({ path: p('h1'), content: 'x\n', mode: '0644', ...own })] }],
    h2: [{ phase: 'check', ops: [check(false)] }, { phase: 'base', ops: [file({ path: p('h2'), content: 'x\n', mode: '0644', ...own })] }],
  });
  assert.equal(ls(dir), [], 'nothing was written on either host');
  assert.equal(report.summary, { ok: 1, changed: 0, failed: 1 });
  assert.match(report.hosts.h2!.error ?? '', /runs a release tandem does not know/);
  assert.is(report.hosts.h1!.error, undefined);
});

// ---- facts that depend on others, work that needs other work ------------------------------------

/** A service and a database that answers only once it runs, as two files; the database's fact depends on the service's. */
function serviceAndDatabase(dependsOn: boolean) {
  fs.writeFileSync(p('svc'), 'stopped\n');
  fs.writeFileSync(p('db'), 'down\n');
  const svc = fileFact(p('svc'));
  const db = { id: 'db:state', script: `cat ${p('db')}`, parse: (out: string) => out.trim(), ...(dependsOn ? { dependsOn: [svc.id] } : {}) };
  const start: Op = {
    id: 'start service',
    facts: [svc],
    plan: (f) =>
      f.get(svc).content === 'running\n'
        ? null
        : { summary: 'start', commands: [{ kind: 'exec', argv: ['sh', '-c', `echo running > ${p('svc')} && echo up > ${p('db')}`] }], invalidates: [svc.id] },
  };
  // Destructive when it acts on "down": refuses instead, as the replica's seed does.
  const seed: Op = {
    id: 'seed',
    facts: [db],
    plan: (f) => {
      if (f.get(db) !== 'up') throw new ValidationError(`the database says ${f.get(db)}: refusing`);
      return null;
    },
  };
  return { h1: [{ phase: 'db' as const, ops: [start] }, { phase: 'replication' as const, ops: [seed] }] };
}

test('a change re-reads the facts that depend on what it invalidated, in later work too', async () => {
  const { report } = await go('apply', serviceAndDatabase(true));
  assert.equal(statuses(report, 'h1'), ['start service=changed', 'seed=ok']);
  // facts, the change, the database's fact again.
  assert.is(report.roundTrips.h1, 3);
  // Without the declared dependency the database's first reading stays cached: the mechanism is what makes it right.
  const stale = await go('apply', serviceAndDatabase(false));
  assert.equal(statuses(stale.report, 'h1'), ['start service=changed', 'seed=failed']);
  assert.match(stale.report.hosts.h1!.error ?? '', /the database says down: refusing/);
});

test('plan: an op that refuses on facts an earlier planned change makes stale is pending, not failed', async () => {
  const { report } = await go('plan', serviceAndDatabase(true));
  assert.equal(statuses(report, 'h1'), ['start service=changed', 'seed=pending']);
  assert.is(report.summary.failed, 0);
  assert.is(read(p('svc')), 'stopped\n');
});

test("a handler's action makes its facts, and those that depend on them, stale", async () => {
  const { h1 } = serviceAndDatabase(true);
  const svc = fileFact(p('svc'));
  const restart: Handler = {
    id: 'restart svc',
    action: { kind: 'exec', argv: ['sh', '-c', `echo running > ${p('svc')} && echo up > ${p('db')}`] },
    invalidates: [svc.id],
  };
  const work: HostWork[] = [
    { phase: 'db', ops: [file({ path: p('svc.conf'), content: 'x\n', mode: '0644', ...own, notify: [restart.id] })], handlers: [restart] },
    h1[1]!,
  ];
  const { report } = await go('apply', { h1: work });
  assert.equal(statuses(report, 'h1'), ['file /svc.conf=changed', 'seed=ok']);
});

test('a failure skips only the work that needs it, saying why; the rest of the host converges', async () => {
  const events: EngineEvent[] = [];
  const work: HostWork[] = [
    { phase: 'base', ops: [file({ path: p('base.txt'), content: 'b\n', mode: '0644', ...own })] },
    { phase: 'replication', ops: [command('start replica', 'echo "SQL thread stopped" >&2; exit 3')] },
    { phase: 'app', needs: [{ phase: 'base' }], ops: [file({ path: p('app.txt'), content: 'a\n', mode: '0644', ...own })] },
    { phase: 'web', needs: [{ phase: 'replication' }], ops: [file({ path: p('web.txt'), content: 'w\n', mode: '0644', ...own })] },
    { phase: 'lb', ops: [file({ path: p('lb.txt'), content: 'l\n', mode: '0644', ...own })] },
  ];
  const out = await go('apply', { h1: work });
  events.push(...out.events);
  const { report } = out;
  assert.equal(ls(dir), ['app.txt', 'base.txt']);
  assert.equal(statuses(report, 'h1'), ['file /base.txt=changed', 'start replica=failed', 'file /app.txt=changed']);
  assert.equal(report.hosts.h1!.skipped, [
    { phase: 'web', reason: 'needs its replication work, which failed' },
    // No needs declared: every earlier phase, the failed one included.
    { phase: 'lb', reason: 'needs its replication work, which failed' },
  ]);
  assert.match(report.hosts.h1!.error ?? '', /start replica: .*SQL thread stopped/);
  assert.ok(events.some((e) => e.type === 'work:skipped' && e.host === 'h1' && e.phase === 'web'));
  assert.ok(events.some((e) => e.type === 'host:end' && e.host === 'h1' && e.failed));
});

test("no idle barrier: a replica converges its app while its primary's db runs; its replication waits for that db's handlers", async () => {
  // The primary's db work finishes only once the replica's app work has run: with a barrier
  // between phases, the replica's app would wait for it and this would time out.
  const appRan = p('replica-app-ran');
  const handlerRan = p('primary-db-restarted');
  const waitForApp = command('wait for the replica app', `i=0; until [ -e ${appRan} ]; do i=$((i+1)); [ $i -gt 200 ] && exit 9; sleep 0.05; done; echo ok`);
  const { report } = await go('apply', {
    primary: [
      { phase: 'db', ops: [{ ...waitForApp, notify: ['restart db'] }], handlers: [{ id: 'restart db', action: { kind: 'exec', argv: ['touch', handlerRan] } }] },
    ],
    replica: [
      { phase: 'db', ops: [command('replica db', 'true')] },
      { phase: 'replication', needs: [{ phase: 'db' }, { phase: 'db', host: 'primary' }], ops: [command('start replica', `test -e ${handlerRan}`)] },
      { phase: 'app', needs: [], ops: [command('replica app', `touch ${appRan}`)] },
    ],
  });
  assert.equal(statuses(report, 'primary'), ['wait for the replica app=changed']);
  assert.equal(statuses(report, 'replica'), ['replica db=changed', 'replica app=changed', 'start replica=changed']);
  assert.equal(report.summary.failed, 0);
});

test("a replica's replication is skipped when its primary's db work fails, naming it", async () => {
  const { report } = await go('apply', {
    primary: [{ phase: 'db', ops: [command('install', 'exit 100')] }],
    replica: [
      { phase: 'db', ops: [command('replica db', 'true')] },
      { phase: 'replication', needs: [{ phase: 'db' }, { phase: 'db', host: 'primary' }], ops: [command('start replica', 'true')] },
    ],
  });
  assert.equal(statuses(report, 'replica'), ['replica db=changed']);
  assert.equal(report.hosts.replica!.skipped, [{ phase: 'replication', reason: "needs primary's db work, which failed" }]);
});

test.run();
