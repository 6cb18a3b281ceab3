// Where a run's time went (the `timings` of --json): accumulated per stage and per host, with a
// fake clock that moves only when the test says, so every figure is exact and nothing is timed.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Timings } from '../../src/engine/timings.ts';
import { run } from '../../src/engine/run.ts';
import type { Fact, HostWork, Op } from '../../src/engine/types.ts';
import type { ExecRequest, ExecResult } from '../../src/ssh/connection.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import { LocalConnection, localHost } from '../fixtures/local-connection.ts';

/** A clock that moves only by advance(). */
function fakeClock(start = 1000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

test('run stages add up their intervals, sync or async, thrown or not; start-up counts from the process start', async () => {
  const clock = fakeClock();
  const t = new Timings(clock.now, 400);
  t.startupDone();
  assert.is(t.time('inventory', () => (clock.advance(12), 'inv')), 'inv');
  assert.is(await t.time('release', async () => (clock.advance(5), 'rel')), 'rel');
  await t.time('release', async () => clock.advance(3));
  assert.throws(
    () =>
      t.time('recipes', () => {
        clock.advance(2);
        throw new Error('template error');
      }),
    /template error/,
  );
  await t.time('engine', async () => {
    clock.advance(1);
    throw new Error('host gone');
  }).catch(() => undefined);
  clock.advance(0.4);
  assert.equal(t.report(), { startupMs: 600, inventoryMs: 12, releaseMs: 8, recipesMs: 2, engineMs: 1, totalMs: 623, hosts: {} });
});

test('without a process start there is no start-up stage, and a stage never run is left out', () => {
  const clock = fakeClock();
  const t = new Timings(clock.now);
  t.startupDone();
  t.time('inventory', () => clock.advance(7.6));
  assert.equal(t.report(), { inventoryMs: 8, totalMs: 8, hosts: {} });
});

test('a host reports every stage, zero for those it never reached', () => {
  const clock = fakeClock();
  const t = new Timings(clock.now);
  t.host('web-01').time('connect', () => clock.advance(30));
  t.host('web-01').time('facts', () => clock.advance(4));
  t.host('web-01').time('facts', () => clock.advance(6));
  t.host('web-02').time('connect', () => clock.advance(50));
  assert.equal(t.report().hosts, {
    'web-01': { connectMs: 30, factsMs: 10, planMs: 0, applyMs: 0, handlersMs: 0 },
    'web-02': { connectMs: 50, factsMs: 0, planMs: 0, applyMs: 0, handlersMs: 0 },
  });
});

/** Every remote command costs 10 ms of the fake clock; connecting costs 30; each plan 1. */
class TimedConnection extends LocalConnection {
  constructor(
    host: ReturnType<typeof localHost>,
    backupRoot: string,
    private readonly advance: (ms: number) => void,
  ) {
    super(host, backupRoot);
  }
  override exec(req: ExecRequest): Promise<ExecResult> {
    this.advance(10);
    return super.exec(req);
  }
}

test('the engine puts each host\'s connect, fact batches, plans, changes and handlers in their stage', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-timings-'));
  try {
    const clock = fakeClock();
    const fact = (id: string): Fact<string> => ({ id, script: `echo ${id}`, parse: (out) => out.trim() });
    const changes: Op = {
      id: 'two commands',
      facts: [fact('a')],
      notify: ['reload'],
      plan: () => {
        clock.advance(1);
        return { summary: 'run two commands', commands: [{ kind: 'exec', argv: ['true'] }, { kind: 'exec', argv: ['true'] }], invalidates: [] };
      },
    };
    const noChange: Op = { id: 'nothing to do', facts: [fact('b')], plan: () => (clock.advance(1), null) };
    const work: HostWork[] = [{ phase: 'base', ops: [changes, noChange], handlers: [{ id: 'reload', action: { kind: 'exec', argv: ['true'] } }] }];
    const timings = new Timings(clock.now);
    const report = await run({
      mode: 'apply',
      hosts: [localHost('h1')],
      work: new Map([['h1', work]]),
      connect: async (h) => {
        clock.advance(30);
        return new TimedConnection(h, root, clock.advance);
      },
      redactor: new Redactor(),
      emit: () => {},
      timings,
    });
    assert.equal(report.summary, { ok: 1, changed: 1, failed: 0 });
    // facts: one batch (both ops' facts and the owed-handlers marker); apply: the marker of the
    // owed handler, then the two commands; handlers: the reload, then removing its marker.
    assert.equal(timings.report().hosts, { h1: { connectMs: 30, factsMs: 10, planMs: 2, applyMs: 30, handlersMs: 20 } });
    assert.is(report.roundTrips.h1, 6);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test.run();
