// `tandem status` as a person reads it: one row per server, the shared address on its own line.
import { mysqlClientOutput } from '../fixtures/mysql-client.ts';
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { renderStatus } from '../../src/cli/status.ts';
import { gatherStatus, type StackStatus } from '../../src/status/gather.ts';
import { testInventory, TWO_SERVERS } from '../fixtures/inventory.ts';
import type { HostSpec } from '../../src/inventory/types.ts';
import type { ExecRequest, ExecResult } from '../../src/ssh/connection.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import { shellJoin } from '../../src/ssh/shell.ts';
import { LIST_RELEASES, SHOW_STAT } from '../../src/deploy/commands.ts';
import { addressesCommand } from '../../src/facts/address.ts';
import { mysqlStateFact } from '../../src/facts/mysql.ts';
import { dialectFor } from '../../src/ops/mysql/dialect.ts';
import { ExecOnlyConnection } from '../fixtures/fake-fleet.ts';
import { appHealthCommand } from '../../src/verify/health.ts';

test('status table: releases, replication, state per load balancer; errors and the shared address said plainly', () => {
  const st: StackStatus = {
    servers: {
      'web-01': { roles: ['lb', 'web', 'app', 'db-primary'], current: '1.0.1-abc', holdsSharedAddress: true },
      'web-02': { roles: ['lb', 'web', 'app', 'db-replica'], current: '1.0.1-abc', replication: { io: 'No', sql: 'Yes', lagSeconds: null, error: 'error connecting to master' } },
      'web-03': { roles: ['web'], error: 'connect ETIMEDOUT' },
    },
    loadBalancers: { 'web-01': { 'web-01': 'UP', 'web-02': 'DRAIN', 'web-03': 'DOWN' }, 'web-02': { error: 'socat: not found' } },
    sharedAddress: { address: '10.0.0.10', heldBy: ['web-01'] },
  };
  const out = renderStatus(st, ['web-01', 'web-02', 'web-03'], ['web-01', 'web-02']).split('\n');
  assert.match(out[0]!, /^SERVER\s+ROLES\s+CURRENT RELEASE\s+REPLICATION\s+IN web-01\s+IN web-02$/);
  assert.match(out[1]!, /^web-01\s+lb,web,app,db-primary\s+1\.0\.1-abc\s+-\s+UP\s+-$/);
  assert.match(out[2]!, /^web-02\s+lb,web,app,db-replica\s+1\.0\.1-abc\s+IO No, SQL Yes, lag \? s: error connecting to master\s+DRAIN\s+-$/);
  assert.match(out[3]!, /^web-03\s+web\s+unreachable: connect ETIMEDOUT$/);
  assert.is(out[4], 'web-02: cannot read HAProxy: socat: not found');
  assert.is(out[5], 'shared address 10.0.0.10: on web-01');
  const none = renderStatus({ ...st, sharedAddress: { address: '10.0.0.10', heldBy: [] } }, [], []);
  assert.match(none, /shared address 10\.0\.0\.10: on no load balancer/);
});

// ---- gathering, from recorded outputs ------------------------------------------------------------

const inventory = testInventory(`${TWO_SERVERS}  web-03: { address: 10.0.0.13, roles: [web, app, db-replica] }\nlb: { mode: active-passive, vip: 10.0.0.10/24, interface: eth0 }\n`);

/** `SHOW SLAVE STATUS` through `mysql -E` on MariaDB 10.11 (fields a person reads, abridged). */
const slaveStatus = (io: string, sql: string, lag: string, sqlError = '') => `*************************** 1. row ***************************
                Slave_IO_State: Waiting for master to send event
                   Master_Host: 10.0.0.11
                   Master_User: tandem_repl
                   Master_Port: 3306
              Slave_IO_Running: ${io}
             Slave_SQL_Running: ${sql}
                    Last_Errno: ${sqlError ? 1062 : 0}
                    Last_Error: ${sqlError}
         Seconds_Behind_Master: ${lag}
                 Last_IO_Errno: 0
                 Last_IO_Error: 
                Last_SQL_Errno: ${sqlError ? 1062 : 0}
                Last_SQL_Error: ${sqlError}
                    Using_Gtid: Slave_Pos
`;

interface Recorded {
  releases: string;
  /** curl's output for /healthz (body, then the code); default: healthy. */
  health?: string;
  replica?: string;
  stat?: string;
  addresses?: string;
}

const RELEASES = 'release 1.0.1-bbb\nrelease 1.0.0-aaa\ncurrent /srv/app/releases/1.0.1-bbb\nprevious /srv/app/releases/1.0.0-aaa\n';
const STAT_HEADER = '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status';
const stat = (rows: Record<string, string>) =>
  [STAT_HEADER, 'web,FRONTEND,,,0,3,,9,0,0,0,0,0,,,,,OPEN', ...Object.entries(rows).map(([s, st]) => `web,${s},0,0,0,2,,9,0,0,,0,,0,0,0,0,${st}`), 'web,BACKEND,0,0,0,3,,9,0,0,,0,,0,0,0,0,UP', 'stats,FRONTEND,,,0,1,,1,0,0,0,0,0,,,,,OPEN'].join('\n') + '\n';
const ipAddr = (...addresses: string[]) => addresses.map((a) => `2: eth0    inet ${a}/24 scope global eth0\\       valid_lft forever preferred_lft forever`).join('\n') + '\n';

const d = dialectFor('mariadb');
const stateScript = mysqlStateFact(d.showReplicaStatus).script;

class RecordedConnection extends ExecOnlyConnection {
  constructor(host: HostSpec, private readonly rec: Recorded) {
    super(host);
  }
  answer(req: ExecRequest): ExecResult {
    const text = req.script ?? shellJoin(req.argv ?? []);
    const ok = (stdout: string): ExecResult => ({ exitCode: 0, stdout, stderr: '', durationMs: 1 });
    if (text === LIST_RELEASES) return ok(this.rec.releases);
    if (text === shellJoin(appHealthCommand(3000))) return ok(this.rec.health ?? healthz(200, { read: { ok: true }, write: { ok: true } }));
    if (text === stateScript && this.rec.replica !== undefined) {
      // The client prints nothing when the server does not answer.
      if (this.rec.replica === 'down') return { exitCode: 1, stdout: '', stderr: "ERROR 2002 (HY000): Can't connect to local server through socket", durationMs: 1 };
      const section = (name: string) => `-- section ${name}\n-- section ${name}\n`;
      return ok(mysqlClientOutput([[section('databases'), 'Database\ninformation_schema\napp\nmysql\ntandem\n', section('tables'), '', section('replica'), this.rec.replica, section('read_only'), '@@GLOBAL.read_only\n1\n', section('semisync'), '']]));
    }
    if (text === SHOW_STAT && this.rec.stat !== undefined) return ok(this.rec.stat);
    if (text === shellJoin(addressesCommand('eth0')) && this.rec.addresses !== undefined) return ok(this.rec.addresses);
    throw new Error(`${this.host.name}: unexpected command ${text}`);
  }
}

const healthz = (code: number, body: object) => `${JSON.stringify({ status: 'x', ...body })}\n${code}`;

const HEALTHY: Record<string, Recorded> = {
  'web-01': { releases: RELEASES, replica: '', stat: stat({ 'web-01': 'UP', 'web-02': 'UP', 'web-03': 'UP' }), addresses: ipAddr('10.0.0.11', '10.0.0.10') },
  'web-02': { releases: RELEASES, replica: slaveStatus('Yes', 'Yes', '0'), stat: stat({ 'web-01': 'UP', 'web-02': 'UP', 'web-03': 'UP' }), addresses: ipAddr('10.0.0.12') },
  'web-03': { releases: RELEASES, replica: slaveStatus('Yes', 'Yes', '0') },
};

/** Gather against recorded hosts; a host without a recording (or `unreachable`) refuses to connect. */
function gather(recorded: Record<string, Recorded | 'unreachable'>) {
  return gatherStatus({
    inventory,
    hosts: inventory.hosts,
    redactor: new Redactor([]),
    connect: async (h) => {
      const r = recorded[h.name];
      if (r === 'unreachable' || !r) throw Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:1 (${h.name})`), { code: 'ECONNREFUSED' });
      return new RecordedConnection(h, r);
    },
  });
}

test('status gather: a healthy stack: releases, rollback target, replication, every backend UP, the shared address on web-01', async () => {
  const st = await gather(HEALTHY);
  assert.equal(st.servers['web-01'], {
    roles: ['lb', 'web', 'app', 'db-primary'], current: '1.0.1-bbb', rollbackTo: '1.0.0-aaa', releases: ['1.0.1-bbb', '1.0.0-aaa'],
    app: { code: 200, read: true, write: true }, database: 'running', holdsSharedAddress: true,
  });
  for (const r of ['web-02', 'web-03']) assert.equal(st.servers[r]!.replication, { io: 'Yes', sql: 'Yes', lagSeconds: 0 }, r);
  assert.is(st.servers['web-02']!.holdsSharedAddress, false);
  assert.is(st.servers['web-03']!.holdsSharedAddress, undefined, 'web-03 is no load balancer');
  assert.equal(st.loadBalancers, { 'web-01': { 'web-01': 'UP', 'web-02': 'UP', 'web-03': 'UP' }, 'web-02': { 'web-01': 'UP', 'web-02': 'UP', 'web-03': 'UP' } });
  assert.equal(st.sharedAddress, { address: '10.0.0.10', heldBy: ['web-01'] });
});

test('status gather: a replica whose SQL thread stopped on an error: the threads, unknown lag and the error, the other replica fine', async () => {
  const error = "Could not execute Write_rows_v1 event on table app.visits; Duplicate entry '7' for key 'PRIMARY', Error_code: 1062";
  const st = await gather({ ...HEALTHY, 'web-03': { releases: RELEASES, replica: slaveStatus('Yes', 'No', 'NULL', error) } });
  assert.equal(st.servers['web-03']!.replication, { io: 'Yes', sql: 'No', lagSeconds: null, error });
  assert.equal(st.servers['web-02']!.replication, { io: 'Yes', sql: 'Yes', lagSeconds: 0 });
  const out = renderStatus(st, ['web-01', 'web-02', 'web-03'], ['web-01', 'web-02']);
  assert.match(out, /\nweb-03\s.*IO Yes, SQL No, lag \? s: Could not execute Write_rows_v1 event/);
});

test('status gather: a replica lagging, one with replication not configured, one whose database is down', async () => {
  const lagging = await gather({ ...HEALTHY, 'web-02': { ...HEALTHY['web-02']!, replica: slaveStatus('Yes', 'Yes', '42') } });
  assert.equal(lagging.servers['web-02']!.replication, { io: 'Yes', sql: 'Yes', lagSeconds: 42 });
  const st = await gather({ ...HEALTHY, 'web-02': { ...HEALTHY['web-02']!, replica: '' }, 'web-03': { releases: RELEASES, replica: 'down' } });
  assert.is(st.servers['web-02']!.replication, 'not configured');
  assert.is(st.servers['web-03']!.replication, 'database not running');
});

test('status gather: the primary database stopped, the replica app serving reads only: the database state and each app\'s read/write health', async () => {
  const writesDown = healthz(503, { read: { ok: true }, write: { ok: false, error: 'the primary database is unavailable: connect ECONNREFUSED' } });
  const st = await gather({ ...HEALTHY, 'web-01': { ...HEALTHY['web-01']!, replica: 'down', health: healthz(503, { read: { ok: false, error: 'the local database is unavailable' }, write: { ok: false } }) }, 'web-02': { ...HEALTHY['web-02']!, health: writesDown } });
  assert.is(st.servers['web-01']!.database, 'not running');
  assert.is(st.servers['web-01']!.replication, undefined, 'the primary has no replication row');
  assert.equal(st.servers['web-01']!.app, { code: 503, read: false, write: false, reason: 'the local database is unavailable' });
  assert.equal(st.servers['web-02']!.app, { code: 503, read: true, write: false, reason: 'the primary database is unavailable: connect ECONNREFUSED' });
  const rows = renderStatus(st, ['web-01', 'web-02', 'web-03'], ['web-01', 'web-02']).split('\n');
  assert.match(rows.find((r) => r.startsWith('web-01'))!, /\sdatabase not running\s/);
});

test('status gather: a backend DOWN in one HAProxy is shown there, as each load balancer sees it', async () => {
  const st = await gather({ ...HEALTHY, 'web-02': { ...HEALTHY['web-02']!, stat: stat({ 'web-01': 'UP', 'web-02': 'UP', 'web-03': 'DOWN' }) } });
  assert.equal(st.loadBalancers['web-01'], { 'web-01': 'UP', 'web-02': 'UP', 'web-03': 'UP' });
  assert.equal(st.loadBalancers['web-02'], { 'web-01': 'UP', 'web-02': 'UP', 'web-03': 'DOWN' });
  const rows = renderStatus(st, ['web-01', 'web-02', 'web-03'], ['web-01', 'web-02']).split('\n');
  assert.match(rows.find((r) => r.startsWith('web-03'))!, /\sUP\s+DOWN$/);
});

test('status gather: an unreachable host is a row with its error; the others are read all the same; no one holds the address', async () => {
  const st = await gather({ ...HEALTHY, 'web-01': 'unreachable' });
  assert.equal(st.servers['web-01'], { roles: ['lb', 'web', 'app', 'db-primary'], error: 'connect ECONNREFUSED 127.0.0.1:1 (web-01)' });
  assert.match(st.loadBalancers['web-01']!.error!, /ECONNREFUSED/);
  assert.equal(st.loadBalancers['web-02'], { 'web-01': 'UP', 'web-02': 'UP', 'web-03': 'UP' });
  assert.is(st.servers['web-02']!.current, '1.0.1-bbb');
  assert.equal(st.sharedAddress, { address: '10.0.0.10', heldBy: [] });
});

test('status: the primary row says whether semi-sync is active and how many replicas acknowledge', () => {
  const primary = (semiSync?: { active: boolean; clients: number }) =>
    renderStatus({ servers: { 'web-01': { roles: ['db-primary'], database: 'running', ...(semiSync && { semiSync }) } }, loadBalancers: {} }, ['web-01'], []).split('\n')[1]!;
  assert.match(primary({ active: true, clients: 1 }), /primary, semi-sync ON \(1 replica\)$/);
  assert.match(primary({ active: false, clients: 0 }), /primary, semi-sync OFF \(0 replicas\)$/);
  assert.match(primary(), /primary$/, 'a server that does not say (semi-sync not loaded): just its role');
});

test.run();
