// `verify` against a fake stack answering from recorded outputs (HAProxy's stats CSV, curl's
// answer, SHOW SLAVE/REPLICA STATUS rows, the canary table): a healthy stack passes every check,
// and each way of breaking it fails exactly the check a person would expect, naming it, with the
// others still passing. Both dialects.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { testInventory, TWO_SERVERS } from '../fixtures/inventory.ts';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import type { ExecRequest, ExecResult } from '../../src/ssh/connection.ts';
import { ExecOnlyConnection } from '../fixtures/fake-fleet.ts';
import { shellJoin } from '../../src/ssh/shell.ts';
import { Redactor, Secret } from '../../src/secrets/secret.ts';
import type { Secrets } from '../../src/secrets/store.ts';
import { verify, type VerifyIo } from '../../src/verify/run.ts';
import type { Db } from '../../src/verify/database.ts';
import type { CheckResult } from '../../src/verify/types.ts';
import { STAT_COMMAND } from '../../src/verify/haproxy.ts';
import { HAPROXY_BACKEND } from '../../src/stack/names.ts';
import { dialectFor, type Dialect } from '../../src/ops/mysql/dialect.ts';
import type { HttpAnswer } from '../../src/verify/http.ts';

// The firewall's checks probe ports: test/unit/firewall.test.ts covers their parts.
const inventoryOf = (engine: 'mariadb' | 'mysql'): Inventory => testInventory(`${TWO_SERVERS}app: { port: 3000 }\ndb: { engine: ${engine} }\nfirewall: { enabled: false }\n`);

/** A stack as verify sees it; each test breaks one thing. */
interface Stack {
  /** HAProxy status per web server, as every load balancer reports it. */
  backends: Record<string, string>;
  /** /healthz on the app, per host: [HTTP code, body]; code '' when nothing listens. */
  health: Record<string, [string, string]>;
  /** Which web servers answer through the load balancer, and with what status. */
  lbStatus: number;
  replica: { io: string; sql: string; ioError: string; sqlError: string; lag: number | null; configured: boolean };
  readOnly: number;
  /** Whether rows written on the primary reach the replica. */
  replicating: boolean;
  gtidWait: number;
  /** The primary's semi-sync status and acknowledging replicas. */
  semiSync: [string, number];
  /** The replica refuses connections with this error. */
  replicaRefuses?: string;
}

const healthy = (): Stack => ({
  backends: { 'web-01': 'UP', 'web-02': 'UP' },
  health: { 'web-01': ['200', '{"status":"ok"}'], 'web-02': ['200', '{"status":"ok"}'] },
  lbStatus: 200,
  replica: { io: 'Yes', sql: 'Yes', ioError: '', sqlError: '', lag: 0, configured: true },
  readOnly: 1,
  replicating: true,
  gtidWait: 0,
  semiSync: ['ON', 1],
});

const ok = (stdout: string): ExecResult => ({ exitCode: 0, stdout, stderr: '', durationMs: 1 });

class StackConnection extends ExecOnlyConnection {
  constructor(
    host: HostSpec,
    private readonly stack: Stack,
    private readonly port: number,
  ) {
    super(host);
  }
  answer(req: ExecRequest): ExecResult {
    const text = shellJoin(req.argv ?? []);
    if (text === shellJoin(STAT_COMMAND)) {
      const rows = Object.entries(this.stack.backends).map(([server, status]) => `${HAPROXY_BACKEND},${server},0,0,0,5,,9,0,0,,0,,0,0,0,0,${status}`);
      return ok(['# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status', `${HAPROXY_BACKEND},BACKEND,0,0,0,5,,9,0,0,,0,,0,0,0,0,UP`, ...rows].join('\n') + '\n');
    }
    if (req.argv?.[0] === 'curl' && req.argv.at(-1) === `http://127.0.0.1:${this.port}/healthz`) {
      const [code, body] = this.stack.health[this.host.name]!;
      if (code === '') return { exitCode: 7, stdout: '\n000', stderr: 'curl: (7) Failed to connect to 127.0.0.1 port 3000', durationMs: 1 };
      return ok(`${body}\n${code}`);
    }
    throw new Error(`${this.host.name}: unexpected command ${text}`);
  }
}

/** The two databases: the primary's canary table, the replica's copy of it, the status row. */
function fakeDbs(stack: Stack, d: Dialect) {
  const primaryRows: string[] = [];
  const replicaRows: string[] = [];
  const queries: string[] = [];
  const db = (role: 'primary' | 'replica'): Db => {
    const query = async (q: string | { sql: string }, params: unknown[] = []) => {
      const sql = typeof q === 'string' ? q : q.sql;
      queries.push(`${role}: ${sql}`);
      const scalar = (v: unknown) => [[[v]]];
      if (sql.startsWith('CREATE TABLE IF NOT EXISTS canary') || sql.startsWith('DELETE FROM canary')) return [[]];
      if (role === 'primary' && sql === d.primaryGtidQuery) return scalar('0-1-42');
      if (role === 'primary' && sql === 'SHOW GLOBAL STATUS WHERE Variable_name IN (?, ?)') {
        assert.equal(params, [d.semiSyncStatus.active, d.semiSyncStatus.clients]);
        return [[[d.semiSyncStatus.active, stack.semiSync[0]], [d.semiSyncStatus.clients, String(stack.semiSync[1])]]];
      }
      if (role === 'primary' && sql === 'INSERT INTO canary (token) VALUES (?)') {
        primaryRows.push(String(params[0]));
        if (stack.replicating) replicaRows.push(String(params[0]));
        return [[]];
      }
      if (role === 'replica' && sql === d.showReplicaStatus.replace(/\\G$/, '')) {
        const r = stack.replica;
        const s = d.status;
        return [r.configured ? [{ [s.ioRunning]: r.io, [s.sqlRunning]: r.sql, [s.lastIoError]: r.ioError, [s.lastSqlError]: r.sqlError, [s.lag]: r.lag }] : []];
      }
      if (role === 'replica' && sql === d.waitForGtid('0-1-42', 10)) return scalar(stack.gtidWait);
      if (role === 'replica' && sql === 'SELECT @@GLOBAL.read_only') return scalar(stack.readOnly);
      if (role === 'replica' && sql === 'SELECT COUNT(*) FROM canary WHERE token = ?') return scalar(replicaRows.filter((t) => t === params[0]).length);
      throw new Error(`${role}: unexpected query ${sql}`);
    };
    return { query, end: async () => {}, destroy: () => {} } as unknown as Db;
  };
  return { db, queries, primaryRows };
}

const secrets = { db_app_password: new Secret('a'.repeat(16)), db_replication_password: new Secret('r'.repeat(16)), db_verify_password: new Secret('v'.repeat(16)) } as Secrets;

async function verifyStack(stack: Stack, engine: 'mariadb' | 'mysql' = 'mariadb') {
  const inventory = inventoryOf(engine);
  const d = dialectFor(engine);
  const dbs = fakeDbs(stack, d);
  const asked: string[] = [];
  const io: VerifyIo = {
    httpGet: async (url: string): Promise<HttpAnswer> => {
      asked.push(url);
      const n = asked.length;
      return { status: stack.lbStatus, headers: { 'x-app-server': n % 2 ? 'web-01' : 'web-02' }, body: stack.lbStatus === 200 ? '{"status":"ok"}' : 'no server is available to handle this request' };
    },
    openDb: async (_conn, address) => {
      if (address === '10.0.0.12' && stack.replicaRefuses) throw new Error(stack.replicaRefuses);
      return dbs.db(address === '10.0.0.11' ? 'primary' : 'replica');
    },
    probePort: async (address, port) => {
      throw new Error(`unexpected probe of ${address}:${port}`);
    },
  };
  const emitted: CheckResult[] = [];
  const results = await verify({
    inventory,
    hosts: inventory.hosts,
    secrets,
    redactor: new Redactor([]),
    connect: async (h) => new StackConnection(h, stack, inventory.app.port),
    emit: (r) => emitted.push(r),
    canaryTimeoutMs: 30,
    // Retried for 300 ms: a stack that fails rotation fails it after retrying, not at once.
    rotationSettleMs: 300,
    io,
  });
  assert.equal(emitted, results, 'every result is emitted as it comes');
  return { results, asked, dbs };
}

const key = (r: CheckResult) => `${r.host ?? '-'}: ${r.check}`;
const failing = (results: CheckResult[]) => results.filter((r) => !r.ok).map((r) => ({ at: key(r), figure: r.figure, detail: r.detail }));

const ALL_CHECKS = [
  'web-01: http through the load balancer reaches every web server',
  'web-01: every backend is UP in HAProxy',
  'web-02: http through the load balancer reaches every web server',
  'web-02: every backend is UP in HAProxy',
  'web-01: the app answers its health endpoint',
  'web-02: the app answers its health endpoint',
  'web-02: replication threads run without errors',
  'web-02: replica lag is under the limit',
  'web-02: the replica has executed the primary GTID set',
  'web-02: the replica is read-only',
  'web-02: a canary row written on the primary is read on the replica',
  'web-01: semi-sync replication is active on the primary',
];

for (const engine of ['mariadb', 'mysql'] as const) {
  test(`${engine}: a healthy stack passes every check, with what it measured`, async () => {
    const { results, asked, dbs } = await verifyStack(healthy(), engine);
    assert.equal(results.map(key), ALL_CHECKS);
    assert.equal(failing(results), []);
    const figure = (k: string) => results.find((r) => key(r) === k)!.figure;
    assert.is(figure('web-01: http through the load balancer reaches every web server'), '8/8 OK, answered by web-01, web-02');
    assert.is(figure('web-01: every backend is UP in HAProxy'), '2/2 backends UP');
    assert.is(figure('web-02: replication threads run without errors'), 'IO Yes, SQL Yes');
    assert.is(figure('web-02: replica lag is under the limit'), 'lag 0 s (limit 10 s)');
    assert.is(figure('web-02: the replica is read-only'), 'read_only ON');
    assert.is(figure('web-01: semi-sync replication is active on the primary'), 'ON, 1 replica(s) acknowledging');
    assert.equal(asked.length, 16, '8 requests through each load balancer');
    assert.ok(asked.every((u) => u === 'http://10.0.0.11/healthz' || u === 'http://10.0.0.12/healthz'));
    assert.is(dbs.primaryRows.length, 1, 'one canary row written');
  });
}

/** One breakage each: what is broken, and the only failing check(s) with their figure and detail. */
const BREAKAGES: Array<[string, (s: Stack) => void, Array<{ at: string; figure: string; detail?: string }>]> = [
  [
    'replication stopped (both threads)',
    (s) => Object.assign(s.replica, { io: 'No', sql: 'No', lag: null }),
    [
      { at: 'web-02: replication threads run without errors', figure: 'IO No, SQL No', detail: undefined },
      { at: 'web-02: replica lag is under the limit', figure: 'lag unknown', detail: undefined },
    ],
  ],
  [
    'the SQL thread stopped on an error',
    (s) => Object.assign(s.replica, { sql: 'No', sqlError: "Error 'Duplicate entry '1' for key 'PRIMARY'' on query", lag: null }),
    [
      { at: 'web-02: replication threads run without errors', figure: 'IO Yes, SQL No', detail: "Error 'Duplicate entry '1' for key 'PRIMARY'' on query" },
      { at: 'web-02: replica lag is under the limit', figure: 'lag unknown', detail: undefined },
    ],
  ],
  [
    'threads running but an IO error recorded',
    (s) => Object.assign(s.replica, { ioError: 'error reconnecting to master' }),
    [{ at: 'web-02: replication threads run without errors', figure: 'IO Yes, SQL Yes', detail: 'error reconnecting to master' }],
  ],
  ['the replica lags over the limit', (s) => Object.assign(s.replica, { lag: 11 }), [{ at: 'web-02: replica lag is under the limit', figure: 'lag 11 s (limit 10 s)', detail: undefined }]],
  [
    'replication never set up',
    (s) => Object.assign(s.replica, { configured: false }),
    [
      { at: 'web-02: replication threads run without errors', figure: 'not configured', detail: 'replication is not set up on this host' },
      { at: 'web-02: replica lag is under the limit', figure: 'lag unknown', detail: undefined },
    ],
  ],
  [
    'a backend DOWN in HAProxy',
    (s) => (s.backends['web-02'] = 'DOWN'),
    [
      { at: 'web-01: every backend is UP in HAProxy', figure: '1/2 backends UP', detail: 'web-01 UP, web-02 DOWN' },
      { at: 'web-02: every backend is UP in HAProxy', figure: '1/2 backends UP', detail: 'web-01 UP, web-02 DOWN' },
    ],
  ],
  [
    "an app whose /healthz fails",
    (s) => (s.health['web-02'] = ['500', '{"status":"failing","db":"ECONNREFUSED"}']),
    [{ at: 'web-02: the app answers its health endpoint', figure: 'HTTP 500', detail: '{"status":"failing","db":"ECONNREFUSED"}' }],
  ],
  [
    'an app that does not listen',
    (s) => (s.health['web-01'] = ['', '']),
    [{ at: 'web-01: the app answers its health endpoint', figure: 'HTTP 000', detail: 'curl: (7) Failed to connect to 127.0.0.1 port 3000' }],
  ],
  [
    'the load balancers answer 503',
    (s) => (s.lbStatus = 503),
    [
      { at: 'web-01: http through the load balancer reaches every web server', figure: '0/8 OK, answered by web-01, web-02', detail: 'HTTP 503: no server is available to handle this request; HTTP 503: no server is available to handle this request; HTTP 503: no server is available to handle this request' },
      { at: 'web-02: http through the load balancer reaches every web server', figure: '0/8 OK, answered by web-01, web-02', detail: 'HTTP 503: no server is available to handle this request; HTTP 503: no server is available to handle this request; HTTP 503: no server is available to handle this request' },
    ],
  ],
  ['the canary does not arrive', (s) => (s.replicating = false), [{ at: 'web-02: a canary row written on the primary is read on the replica', figure: 'canary not seen', detail: 'the row did not reach the replica within 0.03 s' }]],
  ['read_only off on the replica', (s) => (s.readOnly = 0), [{ at: 'web-02: the replica is read-only', figure: 'read_only OFF', detail: undefined }]],
  ['semi-sync off on the primary (fell back to asynchronous)', (s) => (s.semiSync = ['OFF', 1]), [{ at: 'web-01: semi-sync replication is active on the primary', figure: 'OFF, 1 replica(s) acknowledging', detail: 'commits are acknowledged before any replica has them: a failover now could lose them (a replica down, or semi-sync timed out)' }]],
  ['the replica has not caught up with the primary GTID set', (s) => (s.gtidWait = -1), [{ at: 'web-02: the replica has executed the primary GTID set', figure: '0-1-42 in 0 ms', detail: 'timed out after 10 s' }]],
];

for (const [what, breakIt, expected] of BREAKAGES) {
  test(`broken: ${what}: exactly that check fails, named, the others pass`, async () => {
    const stack = healthy();
    breakIt(stack);
    const { results } = await verifyStack(stack);
    assert.equal(results.map(key), ALL_CHECKS, 'every check still ran');
    const got = failing(results).map((f) => (f.figure.endsWith(' ms') ? { ...f, figure: f.figure.replace(/\d+ ms$/, '0 ms') } : f));
    assert.equal(got, expected);
  });
}

test('broken: the replica refuses connections: one failure naming it, the replica checks are not pretended', async () => {
  const stack = healthy();
  stack.replicaRefuses = "Access denied for user 'tandem_verify'@'10.0.0.11'";
  const { results } = await verifyStack(stack);
  assert.equal(failing(results), [{ at: 'web-02: the replica accepts connections', figure: 'failed', detail: "Access denied for user 'tandem_verify'@'10.0.0.11'" }]);
  assert.not.ok(results.some((r) => r.check === 'the replica is read-only'), 'no replica check claims a result');
});


test('a web server coming back in rotation while verify runs (HAProxy counting its rise checks) passes once it is UP; one that stays DOWN fails', async () => {
  const coming = healthy();
  coming.backends['web-01'] = 'DOWN';
  const back = setTimeout(() => (coming.backends['web-01'] = 'UP'), 100);
  const { results } = await verifyStack(coming, 'mariadb');
  clearTimeout(back);
  assert.equal(failing(results), []);

  const staying = healthy();
  staying.backends['web-01'] = 'DOWN';
  const stays = failing((await verifyStack(staying, 'mariadb')).results).map((f) => f.at);
  assert.ok(stays.includes('web-01: every backend is UP in HAProxy'), stays.join(', '));
});

test.run();
