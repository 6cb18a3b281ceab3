// `tandem status`'s verdict as a table: a StackStatus -> healthy, degraded or down, the reasons
// named with their server, and the exit code (0, 5, 6) that each verdict gives.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { assess, type Verdict } from '../../src/status/verdict.ts';
import { appHealthOf, type ServerStatus, type StackStatus } from '../../src/status/gather.ts';
import { renderAssessment, VERDICT_CODE } from '../../src/cli/status.ts';

const ok = { code: 200, read: true, write: true };
const primary = (over: Partial<ServerStatus> = {}): ServerStatus => ({ roles: ['lb', 'web', 'app', 'db-primary'], current: 'r1', database: 'running', app: ok, ...over });
const replica = (over: Partial<ServerStatus> = {}): ServerStatus => ({
  roles: ['lb', 'web', 'app', 'db-replica'], current: 'r1', database: 'running', app: ok, replication: { io: 'Yes', sql: 'Yes', lagSeconds: 0 }, ...over,
});
const lbs = (web01: string, web02: string) => ({ 'web-01': { 'web-01': web01, 'web-02': web02 }, 'web-02': { 'web-01': web01, 'web-02': web02 } });
const stack = (p: ServerStatus, r: ServerStatus, loadBalancers: StackStatus['loadBalancers'] = lbs('UP', 'UP'), extra: Partial<StackStatus> = {}): StackStatus => ({
  servers: { 'web-01': p, 'web-02': r }, loadBalancers, ...extra,
});
const DUP = "Could not execute Write_rows_v1 event on table app.visits; Duplicate entry '7' for key 'PRIMARY'";
const noWrites = { code: 503, read: true, write: false, reason: 'the primary database is unavailable: connect ECONNREFUSED 10.0.0.11:3306' };

const cases: { name: string; st: StackStatus; verdict: Verdict; problems: [string, string | undefined, RegExp][] }[] = [
  { name: 'everything healthy', st: stack(primary(), replica()), verdict: 'healthy', problems: [] },
  { name: 'a backend in its 1/2 going-down step still counts as UP', st: stack(primary(), replica(), lbs('UP', 'UP 1/2')), verdict: 'healthy', problems: [] },
  {
    name: 'the primary database stopped: reads on the replica, writes 503 everywhere, web-01 out of rotation',
    st: stack(primary({ database: 'not running', app: { code: 503, read: false, write: false, reason: 'the local database is unavailable: ECONNREFUSED' } }),
      replica({ app: noWrites, replication: { io: 'Connecting', sql: 'Yes', lagSeconds: null, error: "error reconnecting to master" } }), lbs('DOWN', 'UP')),
    verdict: 'down',
    problems: [
      ['down', 'web-01', /^the primary database is not running: writes fail/],
      ['degraded', 'web-01', /^the app cannot serve reads: the local database is unavailable/],
      ['degraded', 'web-02', /^replication waits for the primary to return \(IO Connecting\); reads serve the data replicated so far$/],
      ['degraded', 'web-01', /^out of rotation in web-01 \(DOWN\), web-02 \(DOWN\)$/],
    ],
  },
  {
    name: 'replication broken by an SQL error: the replica out of rotation in both load balancers, and why',
    st: stack(primary(), replica({ replication: { io: 'Yes', sql: 'No', lagSeconds: null, error: DUP }, app: { code: 503, read: false, write: true, reason: `replication: the SQL thread is stopped: ${DUP}` } }), lbs('UP', 'DOWN')),
    verdict: 'degraded',
    problems: [
      ['degraded', 'web-02', /^replication is broken: IO Yes, SQL No: Could not execute .*Duplicate entry '7'/],
      ['degraded', 'web-02', /^the app cannot serve reads: replication: the SQL thread is stopped/],
      ['degraded', 'web-02', /^out of rotation in web-01 \(DOWN\), web-02 \(DOWN\)$/],
    ],
  },
  {
    name: 'the replica retrying its connection while the primary database runs: broken, not waiting',
    st: stack(primary(), replica({ replication: { io: 'Connecting', sql: 'Yes', lagSeconds: null, error: 'Access denied' } })),
    verdict: 'degraded',
    problems: [['degraded', 'web-02', /^replication is broken: IO Connecting, SQL Yes: Access denied$/]],
  },
  {
    name: 'a replica lagging over the limit',
    st: stack(primary(), replica({ replication: { io: 'Yes', sql: 'Yes', lagSeconds: 42 } })),
    verdict: 'degraded',
    problems: [['degraded', 'web-02', /^the replica lags 42 s behind, over the limit of 10 s$/]],
  },
  { name: 'lag at the limit is fine', st: stack(primary(), replica({ replication: { io: 'Yes', sql: 'Yes', lagSeconds: 10 } })), verdict: 'healthy', problems: [] },
  { name: 'the replica database stopped', st: stack(primary(), replica({ database: 'not running', replication: 'database not running' })), verdict: 'degraded', problems: [['degraded', 'web-02', /^the replica database is not running$/]] },
  { name: 'replication never set up', st: stack(primary(), replica({ replication: 'not configured' })), verdict: 'degraded', problems: [['degraded', 'web-02', /^replication is not configured/]] },
  {
    name: 'out of rotation in load balancers that answered in another order: named by name',
    st: stack(primary(), replica(), { 'web-02': { 'web-01': 'UP', 'web-02': 'DOWN' }, 'web-01': { 'web-01': 'UP', 'web-02': 'DOWN' } }),
    verdict: 'degraded',
    problems: [['degraded', 'web-02', /^out of rotation in web-01 \(DOWN\), web-02 \(DOWN\)$/]],
  },
  { name: 'a backend in maintenance', st: stack(primary(), replica(), { 'web-01': { 'web-01': 'UP', 'web-02': 'MAINT' }, 'web-02': { 'web-01': 'UP', 'web-02': 'UP' } }), verdict: 'degraded', problems: [['degraded', 'web-02', /^out of rotation in web-01 \(MAINT\)$/]] },
  {
    name: 'every backend DOWN in one load balancer',
    st: stack(primary(), replica(), { 'web-01': { 'web-01': 'DOWN', 'web-02': 'DOWN' }, 'web-02': { 'web-01': 'UP', 'web-02': 'UP' } }),
    verdict: 'down',
    problems: [['down', 'web-01', /^no web server is in rotation in this load balancer \(web-01 DOWN, web-02 DOWN\)$/]],
  },
  { name: "a HAProxy that cannot be read", st: stack(primary(), replica(), { 'web-01': { error: 'connection refused' }, 'web-02': { 'web-01': 'UP', 'web-02': 'UP' } }), verdict: 'degraded', problems: [['degraded', 'web-01', /^HAProxy could not be read: connection refused$/]] },
  {
    name: 'a server that could not be read',
    st: stack(primary(), { roles: ['lb', 'web', 'app', 'db-replica'], error: 'connect ECONNREFUSED' }, { 'web-01': { 'web-01': 'UP', 'web-02': 'DOWN' }, 'web-02': { error: 'connect ECONNREFUSED' } }),
    verdict: 'down',
    problems: [
      ['down', 'web-02', /^could not be read: connect ECONNREFUSED$/],
      ['degraded', 'web-02', /^HAProxy could not be read/],
      ['degraded', 'web-02', /^out of rotation in web-01 \(DOWN\)$/],
    ],
  },
  { name: 'one app that cannot write while the primary runs', st: stack(primary(), replica({ app: noWrites })), verdict: 'degraded', problems: [['degraded', 'web-02', /^the app cannot write: the primary database is unavailable/]] },
  { name: 'the shared address on no load balancer', st: stack(primary(), replica(), lbs('UP', 'UP'), { sharedAddress: { address: '10.0.0.10', heldBy: [] } }), verdict: 'down', problems: [['down', undefined, /^the shared address 10\.0\.0\.10 is on no load balancer$/]] },
  { name: 'the shared address on two', st: stack(primary(), replica(), lbs('UP', 'UP'), { sharedAddress: { address: '10.0.0.10', heldBy: ['web-01', 'web-02'] } }), verdict: 'degraded', problems: [['degraded', undefined, /on more than one load balancer \(web-01, web-02\)/]] },
];

for (const c of cases) {
  test(`status verdict: ${c.name} -> ${c.verdict}`, () => {
    const a = assess(c.st, { primary: 'web-01', maxReplicaLagSeconds: 10 });
    const shown = JSON.stringify(a.problems, null, 1);
    assert.is(a.verdict, c.verdict, shown);
    assert.is(a.problems.length, c.problems.length, shown);
    c.problems.forEach(([level, host, what], i) => {
      const p = a.problems[i]!;
      assert.is(p.level, level, shown);
      assert.is(p.host, host, shown);
      assert.match(p.what, what);
    });
  });
}

test('status verdict: each verdict its exit code, 0 only when healthy; the verdict under the table names server and reason', () => {
  assert.equal(VERDICT_CODE, { healthy: 0, degraded: 5, down: 6 });
  const text = renderAssessment(assess(stack(primary({ database: 'not running' }), replica()), { primary: 'web-01', maxReplicaLagSeconds: 10 }));
  assert.is(text, 'verdict: down\n  down      web-01  the primary database is not running: writes fail, reads go to the replicas\n');
  assert.is(renderAssessment({ verdict: 'healthy', problems: [] }), 'verdict: healthy\n');
});

const parsed: { name: string; code: string; body: string; expected: ReturnType<typeof appHealthOf> }[] = [
  { name: 'healthy', code: '200', body: '{"status":"ok","read":{"ok":true},"write":{"ok":true}}', expected: { code: 200, read: true, write: true } },
  { name: 'reads only', code: '503', body: '{"status":"read-only","read":{"ok":true},"write":{"ok":false,"error":"the primary database is unavailable: x"}}', expected: { code: 503, read: true, write: false, reason: 'the primary database is unavailable: x' } },
  { name: 'forced failure', code: '503', body: '{"status":"failing","checks":{"forced":"FAIL_HEALTH"}}', expected: { code: 503, read: false, write: false, reason: 'status failing' } },
  { name: "Nginx's 502 page", code: '502', body: '<html>Bad Gateway</html>', expected: { code: 502, read: false, write: false, reason: 'HTTP 502' } },
  { name: 'nothing listening', code: '000', body: '', expected: { code: 0, read: false, write: false, reason: 'no answer' } },
];
for (const c of parsed) {
  test(`status: the app's /healthz read as read/write health: ${c.name}`, () => {
    assert.equal(appHealthOf(c.code, c.body), c.expected);
  });
}

test.run();
