// The rules of what work needs, as tables: which units a run has and what each needs first,
// which one a host takes next, why one is skipped; and which facts go stale with a change.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { buildUnits, nextUnit, peerHostsOf, skipReason, type Settled } from '../../src/engine/schedule.ts';
import { staleClosure } from '../../src/engine/facts.ts';
import type { Fact, HostWork, Phase, WorkRef } from '../../src/engine/types.ts';

const work = (phase: Phase, needs?: WorkRef[]): HostWork => ({ phase, ops: [], ...(needs ? { needs } : {}) });

/** The stack's shape: a primary and a replica, app/web/lb needing only base, replication its own and its primary's db. */
const stack = (host: string, replicaOf?: string): HostWork[] => [
  work('check'),
  work('base'),
  work('db'),
  ...(replicaOf ? [work('replication', [{ phase: 'db' }, { phase: 'db', host: replicaOf }])] : []),
  work('app', [{ phase: 'base' }]),
  work('web', [{ phase: 'base' }]),
  work('lb', [{ phase: 'base' }]),
];

test('units: one per host and phase, with their needs resolved; the check is everyone\'s gate', () => {
  const cases: { name: string; work: Record<string, HostWork[]>; expect: Record<string, { needs: string[]; gate: string[] }> }[] = [
    {
      name: 'no needs declared: every earlier phase of the host',
      work: { h1: [work('base'), work('db'), work('app')] },
      expect: {
        'h1/base': { needs: [], gate: [] },
        'h1/db': { needs: ['h1/base'], gate: [] },
        'h1/app': { needs: ['h1/base', 'h1/db'], gate: [] },
      },
    },
    {
      name: 'the stack: a replica\'s replication needs its primary\'s db; app, web and lb only base',
      work: { p: stack('p'), r: stack('r', 'p') },
      expect: {
        'p/check': { needs: [], gate: [] },
        'p/base': { needs: ['p/check'], gate: ['r/check'] },
        'p/db': { needs: ['p/check', 'p/base'], gate: ['r/check'] },
        'p/app': { needs: ['p/check', 'p/base'], gate: ['r/check'] },
        'p/web': { needs: ['p/check', 'p/base'], gate: ['r/check'] },
        'p/lb': { needs: ['p/check', 'p/base'], gate: ['r/check'] },
        'r/check': { needs: [], gate: [] },
        'r/base': { needs: ['r/check'], gate: ['p/check'] },
        'r/db': { needs: ['r/check', 'r/base'], gate: ['p/check'] },
        'r/replication': { needs: ['r/check', 'r/db', 'p/db'], gate: ['p/check'] },
        'r/app': { needs: ['r/check', 'r/base'], gate: ['p/check'] },
        'r/web': { needs: ['r/check', 'r/base'], gate: ['p/check'] },
        'r/lb': { needs: ['r/check', 'r/base'], gate: ['p/check'] },
      },
    },
    {
      name: 'needs on work outside the run (--limit, a recipe not selected) are no needs',
      work: { r: [work('base'), work('replication', [{ phase: 'db' }, { phase: 'db', host: 'p' }])] },
      expect: { 'r/base': { needs: [], gate: [] }, 'r/replication': { needs: [], gate: [] } },
    },
    {
      name: 'two recipes in one phase: the needs of both',
      work: { h: [work('base'), work('db'), work('lb', [{ phase: 'base' }]), work('lb', [{ phase: 'db' }])] },
      expect: { 'h/base': { needs: [], gate: [] }, 'h/db': { needs: ['h/base'], gate: [] }, 'h/lb': { needs: ['h/base', 'h/db'], gate: [] } },
    },
  ];
  for (const c of cases) {
    const units = buildUnits(Object.keys(c.work), new Map(Object.entries(c.work)));
    assert.equal(Object.fromEntries(units.map((u) => [u.key, { needs: u.needs, gate: u.gate }])), c.expect, c.name);
  }
});

test('units: a need of the same or a later phase is refused (needs could then form a cycle)', () => {
  assert.throws(() => buildUnits(['h'], new Map([['h', [work('base'), work('db', [{ phase: 'app' }]), work('app')]]])), /h: db work declares that it needs h's app work, which is not an earlier phase/);
  assert.throws(() => buildUnits(['a', 'b'], new Map([['a', [work('db', [{ phase: 'db', host: 'b' }])]], ['b', [work('db')]]])), /a: db work declares that it needs b's db work/);
});

test('next unit and skip reasons: a failure skips only what needs it, and says why', () => {
  const units = buildUnits(['p', 'r'], new Map(Object.entries({ p: stack('p'), r: stack('r', 'p') })));
  const of = (host: string) => units.filter((u) => u.host === host);
  const cases: { name: string; settled: Record<string, Settled>; host: string; next?: string; reason?: string }[] = [
    { name: 'nothing settled: the check goes first', settled: {}, host: 'r', next: 'r/check' },
    { name: 'base waits for the other host\'s check (the gate)', settled: { 'r/check': 'done' }, host: 'r', next: undefined },
    {
      name: 'the replica does not wait idle for its primary\'s db: its app goes first',
      settled: { 'p/check': 'done', 'r/check': 'done', 'r/base': 'done', 'r/db': 'done' },
      host: 'r',
      next: 'r/app',
    },
    {
      name: 'replication once the primary\'s db is done',
      settled: { 'p/check': 'done', 'r/check': 'done', 'r/base': 'done', 'r/db': 'done', 'p/db': 'done' },
      host: 'r',
      next: 'r/replication',
    },
    {
      name: 'the primary\'s db failed: replication is skipped, naming it',
      settled: { 'p/check': 'done', 'r/check': 'done', 'r/base': 'done', 'r/db': 'done', 'p/db': 'failed' },
      host: 'r',
      next: 'r/replication',
      reason: "needs p's db work, which failed",
    },
    {
      name: 'the primary was not reached',
      settled: { 'p/check': 'unreached', 'r/check': 'done', 'r/base': 'done', 'r/db': 'done', 'p/db': 'unreached' },
      host: 'r',
      next: 'r/replication',
      reason: "needs p's db work, and p was not reached",
    },
    {
      name: 'replication failed: app, web and lb still run',
      settled: { 'p/check': 'done', 'r/check': 'done', 'r/base': 'done', 'r/db': 'done', 'p/db': 'done', 'r/replication': 'failed' },
      host: 'r',
      next: 'r/app',
    },
    {
      name: 'its own base failed: app is skipped',
      settled: { 'p/check': 'done', 'r/check': 'done', 'r/base': 'failed', 'r/db': 'skipped' },
      host: 'r',
      next: 'r/app',
      reason: 'needs its base work, which failed',
    },
    {
      name: 'db skipped after base failed: its dependents say skipped',
      settled: { 'p/check': 'done', 'r/check': 'done', 'r/base': 'done', 'r/db': 'skipped', 'p/db': 'done' },
      host: 'r',
      next: 'r/replication',
      reason: 'needs its db work, which was skipped',
    },
    {
      name: 'another host failed its check: nothing changes here',
      settled: { 'p/check': 'failed', 'r/check': 'done' },
      host: 'r',
      next: 'r/base',
      reason: 'p failed its check, so nothing changes anywhere',
    },
  ];
  for (const c of cases) {
    const settled = new Map(Object.entries(c.settled));
    const waiting = of(c.host).filter((u) => !settled.has(u.key));
    const next = nextUnit(waiting, settled);
    assert.is(next?.key, c.next, c.name);
    assert.is(next && skipReason(next, settled), c.reason, c.name);
  }
});

test('after: order only — the load balancer waits for every web server\'s work to end, and runs even when one failed', () => {
  const lb = (host: string, webs: string[]): HostWork => ({ phase: 'lb', ops: [], needs: [{ phase: 'base' }], after: webs.map((h) => ({ phase: 'web' as const, host: h })) });
  const units = buildUnits(['a', 'b'], new Map([
    ['a', [work('base'), work('web', [{ phase: 'base' }]), lb('a', ['a', 'b'])]],
    ['b', [work('base'), work('web', [{ phase: 'base' }]), lb('b', ['a', 'b', 'gone'])]],
  ]));
  const a = units.find((u) => u.key === 'a/lb')!;
  // Its own web work is ordered like the rest; a host outside the run is no one to wait for.
  assert.equal({ needs: a.needs, after: a.after }, { needs: ['a/base'], after: ['a/web', 'b/web'] });
  assert.equal(units.find((u) => u.key === 'b/lb')!.after, ['a/web', 'b/web']);
  assert.equal(peerHostsOf(a), [], 'coming after b\'s work reads nothing of b: b\'s changes do not make a re-read its facts');
  const waiting = (settled: Record<string, Settled>) => nextUnit(units.filter((u) => u.host === 'a' && !(u.key in settled)), new Map(Object.entries(settled)));
  assert.is(waiting({ 'a/base': 'done', 'a/web': 'done' })?.key, undefined, 'b\'s web work has not ended: a\'s lb waits');
  const next = waiting({ 'a/base': 'done', 'a/web': 'done', 'b/web': 'failed' });
  assert.is(next?.key, 'a/lb', 'b\'s web work ended (failed): a\'s lb runs');
  assert.is(skipReason(next!, new Map(Object.entries({ 'a/base': 'done', 'a/web': 'done', 'b/web': 'failed' }))), undefined, 'a failed web server skips no load balancer');
  assert.throws(() => buildUnits(['h'], new Map([['h', [work('base'), { phase: 'db', ops: [], after: [{ phase: 'lb' }] }, work('lb')]]])), /h: db work declares that it comes after h's lb work, which is not an earlier phase/);
});

const fact = (id: string, dependsOn?: string[]): Fact<unknown> => ({ id, script: 'true', parse: () => undefined, ...(dependsOn ? { dependsOn } : {}) });

test('stale facts: what a change invalidates, and every fact that depends on it, transitively', () => {
  const facts = [
    fact('service:mariadb'),
    fact('mysql:state', ['service:mariadb']),
    fact('mysql:account:app@10.0.0.2', ['service:mariadb']),
    fact('derived', ['mysql:state']),
    fact('file:/etc/x'),
    fact('cycle:a', ['cycle:b']),
    fact('cycle:b', ['cycle:a']),
  ];
  const cases: { ids: string[]; stale: string[] }[] = [
    { ids: ['service:mariadb'], stale: ['derived', 'mysql:account:app@10.0.0.2', 'mysql:state', 'service:mariadb'] },
    { ids: ['mysql:state'], stale: ['derived', 'mysql:state'] },
    { ids: ['file:/etc/x'], stale: ['file:/etc/x'] },
    { ids: ['unknown'], stale: ['unknown'] },
    { ids: [], stale: [] },
    { ids: ['cycle:a'], stale: ['cycle:a', 'cycle:b'] },
  ];
  for (const c of cases) assert.equal([...staleClosure(c.ids, facts)].sort(), c.stale, c.ids.join(','));
});

test.run();
