// Every `verify` check seen to fail, on real servers. One stack is built once; then each case
// breaks it one way, expects verify to exit 1 naming exactly the checks that fault should fail
// (with the figures they report) while every other check still runs and passes, repairs the
// fault, and shows verify passing again before the next case. Some faults fail more than one
// check by nature (a stopped replica also has no lag figure, no GTID progress and no canary):
// each case states the whole set it expects, so a check that fails too much or too little fails
// the test.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { addressOf, LAB, lbGet, tandemJson } from './tandem.ts';
import { resetHosts, sshOk, until } from './harness.ts';
import { labVariant } from './variants.ts';
import { backendStatus } from './haproxy-stats.ts';
import { setServerState } from '../../src/deploy/commands.ts';
import { APP_CURRENT, HAPROXY_BACKEND } from '../../src/stack/names.ts';

const HOSTS = ['web-01', 'web-02'];
/**
 * The lab without its monitor host: Prometheus's view trails the stack by up to a scrape interval,
 * so whether verify's monitoring checks have seen a fault yet would be a race in the exact sets
 * below (test/lab/monitoring.test.ts asserts those checks).
 */
const INVENTORY = labVariant('verify-failures', (d) => {
  for (const h of Object.values(d.hosts) as { roles: string[] }[]) h.roles = h.roles.filter((r) => r !== 'monitor');
});
const CHECK = {
  http: 'http through the load balancer reaches every web server',
  backends: 'every backend is UP in HAProxy',
  app: 'the app answers its health endpoint',
  threads: 'replication threads run without errors',
  lag: 'replica lag is under the limit',
  gtid: 'the replica has executed the primary GTID set',
  readOnly: 'the replica is read-only',
  canary: 'a canary row written on the primary is read on the replica',
  firewall: 'the firewall lets this machine reach only what it should',
  paths: 'the paths the stack needs from this server are open',
  https: 'HTTPS for the domain: trusted chain, not expiring soon, HTTP/2 offered',
  redirect: 'plain HTTP redirects to HTTPS, HTTPS answers with HSTS',
  replicationTls: "replication uses TLS, the primary's certificate verified",
  semiSync: 'semi-sync replication is active on the primary',
} as const;
type CheckName = keyof typeof CHECK;
/** "web-02 canary": a check on a host, as the cases name them. */
type Label = `${string} ${CheckName}`;

const EVERY_CHECK: Label[] = [
  'web-01 http', 'web-01 backends', 'web-02 http', 'web-02 backends', 'web-01 app', 'web-02 app',
  'web-02 threads', 'web-02 lag', 'web-02 gtid', 'web-02 readOnly', 'web-02 canary', 'web-01 semiSync',
  'web-01 firewall', 'web-02 firewall', 'web-01 paths', 'web-02 paths',
  // With a tls: section, HTTPS on each load balancer; with MariaDB, the replication link's TLS.
  ...(LAB.tls ? (['web-01 https', 'web-01 redirect', 'web-02 https', 'web-02 redirect'] as const) : []),
  ...(LAB.db.engine === 'mariadb' ? (['web-02 replicationTls'] as const) : []),
];

const nameOf = (check: string): CheckName => {
  const found = (Object.keys(CHECK) as CheckName[]).find((k) => CHECK[k] === check);
  if (!found) throw new Error(`verify ran a check this test does not know: "${check}"`);
  return found;
};

interface Check {
  check: string;
  host?: string;
  ok: boolean;
  figure: string;
  detail?: string;
}

/** verify --json; its checks by label, each label once. */
function runVerify(extra: string[] = []): { code: number; stderr: string; checks: Map<Label, Check> } {
  const r = tandemJson(['verify', '-i', INVENTORY, ...extra]);
  const checks = new Map<Label, Check>();
  for (const c of r.json.checks as Check[]) {
    const label = `${c.host} ${nameOf(c.check)}` as Label;
    assert.not.ok(checks.has(label), `${label} reported twice`);
    checks.set(label, c);
  }
  assert.equal([...checks.keys()].sort(), [...EVERY_CHECK].sort(), 'verify ran every check, each once');
  return { code: r.code, stderr: r.stderr, checks };
}

const show = (checks: Map<Label, Check>) => [...checks.values()].map((c) => `${c.ok ? 'ok  ' : 'FAIL'} [${c.host}] ${c.check}: ${c.figure}${c.detail ? ` (${c.detail})` : ''}`).join('\n');

/** Expects verify to exit 1 with exactly `failing` failed, every other check passed; returns the checks. */
function verifyFails(failing: Label[], extra: string[] = []): Map<Label, Check> {
  const r = runVerify(extra);
  const failed = [...r.checks].filter(([, c]) => !c.ok).map(([l]) => l);
  assert.equal(failed.sort(), [...failing].sort(), show(r.checks));
  assert.is(r.code, 1, `verify exits 1 when a check fails\n${r.stderr}`);
  // The error line names the count and the first failed check, in verify's order.
  const first = [...r.checks.values()].find((c) => !c.ok)!;
  const count = `${failing.length} check${failing.length > 1 ? 's' : ''} failed`;
  assert.ok(r.stderr.includes(`${count}, the first: [${first.host}] ${first.check}`), r.stderr);
  return r.checks;
}

function verifyPasses(extra: string[] = []): void {
  const r = runVerify(extra);
  assert.equal([...r.checks.values()].filter((c) => !c.ok), [], show(r.checks));
  assert.is(r.code, 0, r.stderr);
}

/** SQL as root on a lab server (on stdin: no quoting), returning its tab-separated output. */
const sql = (host: string, statements: string) => sshOk(host, 'mariadb -N -B', { input: statements });

async function replicaStatus(): Promise<Record<string, string>> {
  const out = await sshOk('web-02', 'mariadb -e "SHOW SLAVE STATUS\\G"');
  return Object.fromEntries([...out.matchAll(/^\s*(\w+): (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** Polls `lb`'s HAProxy until web-02 shows `status` (UP, DOWN, MAINT). */
async function untilBackend(lb: string, status: RegExp): Promise<void> {
  let seen: Record<string, string> = {};
  await until(`web-02 ${status} in ${lb}'s HAProxy`, async () => {
    seen = await backendStatus(lb);
    return status.test(seen['web-02'] ?? '') || undefined;
  }, { timeoutMs: 40_000, seen: () => JSON.stringify(seen) });
}

/**
 * Back in rotation: web-02 UP in both load balancers and answering through each (after a return
 * HAProxy ramps its weight up for 2 s, slowstart, so UP alone does not yet mean it gets requests).
 */
async function untilBackInRotation(lbs: string[] = HOSTS): Promise<void> {
  for (const lb of lbs) {
    await untilBackend(lb, /^UP/);
    let seen: string[] = [];
    await until(`web-02 to answer through ${lb}`, async () => {
      seen = [];
      for (let i = 0; i < 8; i++) seen.push(String((await lbGet(addressOf(lb), '/healthz')).headers['x-app-server']));
      return seen.includes('web-02') || undefined;
    }, { timeoutMs: 20_000, seen: () => seen.join(', ') });
  }
}

test.before(async () => {
  await resetHosts(HOSTS);
  const r = tandemJson(['apply', '-i', INVENTORY]);
  assert.is(r.code, 0, r.stderr);
  // A table of this test's own, in a database of its own, replicated like any other.
  await sql('web-01', 'CREATE DATABASE faults; CREATE TABLE faults.t (id INT PRIMARY KEY)');
});

test('the stack as built passes every check (the baseline each case departs from)', () => {
  verifyPasses();
});

/**
 * What a replica that cannot serve reads fails besides its replication checks: its app's /healthz
 * (read side), so both load balancers take it out and never reach it.
 */
const OUT_OF_ROTATION: Label[] = ['web-02 app', 'web-01 backends', 'web-02 backends', 'web-01 http', 'web-02 http'];

test('replication stopped (STOP SLAVE), the primary written since: threads, lag, GTID and canary fail, and the replica leaves rotation', async () => {
  await sql('web-02', 'STOP SLAVE');
  await sql('web-01', 'INSERT INTO faults.t VALUES (1)');
  for (const lb of HOSTS) await untilBackend(lb, /^DOWN/);
  // No replica acknowledges commits any more: the primary went asynchronous.
  const checks = verifyFails(['web-02 threads', 'web-02 lag', 'web-02 gtid', 'web-02 canary', 'web-01 semiSync', ...OUT_OF_ROTATION]);
  assert.match(checks.get('web-02 app')!.detail ?? '', /replication: the SQL thread is stopped/);
  // MariaDB may leave the status ON with no replica (rpl_semi_sync_master_wait_no_slave=OFF): no one acknowledges either way.
  assert.match(checks.get('web-01 semiSync')!.figure, /^(ON|OFF), 0 replica\(s\) acknowledging$/);
  assert.is(checks.get('web-02 threads')!.figure, 'IO No, SQL No');
  assert.is(checks.get('web-02 lag')!.figure, 'lag unknown');
  assert.is(checks.get('web-02 gtid')!.detail, 'timed out after 10 s');
  assert.is(checks.get('web-02 canary')!.figure, 'canary not seen');
  await sql('web-02', 'START SLAVE');
  await untilBackInRotation();
  verifyPasses();
});

test('the replica SQL thread in error (a conflicting row): threads fail with the error, and what depends on them; it leaves rotation', async () => {
  // The row is written on the replica alone (not logged), then the same key on the primary.
  await sql('web-02', 'SET SESSION sql_log_bin = 0; INSERT INTO faults.t VALUES (2)');
  await sql('web-01', 'INSERT INTO faults.t VALUES (2)');
  await until('the replica SQL thread to stop on the duplicate key', async () => ((await replicaStatus()).Last_SQL_Errno === '1062' ? true : undefined));
  for (const lb of HOSTS) await untilBackend(lb, /^DOWN/);
  const checks = verifyFails(['web-02 threads', 'web-02 lag', 'web-02 gtid', 'web-02 canary', ...OUT_OF_ROTATION]);
  assert.is(checks.get('web-02 threads')!.figure, 'IO Yes, SQL No');
  assert.match(checks.get('web-02 threads')!.detail ?? '', /Duplicate entry '2'/);
  await sql('web-02', 'SET SESSION sql_log_bin = 0; DELETE FROM faults.t WHERE id = 2; START SLAVE SQL_THREAD');
  await untilBackInRotation();
  verifyPasses();
});

test('a lagging replica (delayed by an hour): lag over the limit, GTID and canary fail, the threads still run; over db.max_replica_lag it leaves rotation', async () => {
  await sql('web-02', 'STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 3600; START SLAVE');
  await sql('web-01', 'INSERT INTO faults.t VALUES (3)');
  await until('the replica to fall 3 s behind', async () => (Number((await replicaStatus()).Seconds_Behind_Master) >= 3 ? true : undefined));
  // Past the inventory's limit (10 s) its app stops serving reads: wait for that, not for a time.
  for (const lb of HOSTS) await untilBackend(lb, /^DOWN/);
  const checks = verifyFails(['web-02 lag', 'web-02 gtid', 'web-02 canary', ...OUT_OF_ROTATION], ['--max-lag', '2']);
  assert.match(checks.get('web-02 app')!.detail ?? '', /over the limit of 10 s/);
  assert.match(checks.get('web-02 lag')!.figure, /^lag \d+ s \(limit 2 s\)$/);
  assert.ok(Number(/lag (\d+)/.exec(checks.get('web-02 lag')!.figure)![1]) >= 3);
  assert.is(checks.get('web-02 threads')!.figure, 'IO Yes, SQL Yes');
  await sql('web-02', 'STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 0; START SLAVE');
  await untilBackInRotation();
  verifyPasses(['--max-lag', '2']);
});

test('the canary alone not arriving (the replica ignores its table): only the canary fails', async () => {
  // Replication runs, is current and read-only: only the canary's rows are filtered out.
  await sql('web-02', "STOP SLAVE SQL_THREAD; SET GLOBAL replicate_ignore_table = 'tandem.canary'; START SLAVE SQL_THREAD");
  const checks = verifyFails(['web-02 canary']);
  assert.is(checks.get('web-02 canary')!.detail, 'the row did not reach the replica within 10 s');
  await sql('web-02', "STOP SLAVE SQL_THREAD; SET GLOBAL replicate_ignore_table = ''; START SLAVE SQL_THREAD");
  verifyPasses();
});

test('read_only off on the replica: only the read-only check fails', async () => {
  await sql('web-02', 'SET GLOBAL read_only = 0');
  const checks = verifyFails(['web-02 readOnly']);
  assert.is(checks.get('web-02 readOnly')!.figure, 'read_only OFF');
  await sql('web-02', 'SET GLOBAL read_only = 1');
  verifyPasses();
});

test('web-02 disabled in one HAProxy: that load balancer fails its backends and never reaches web-02', async () => {
  await sshOk('web-01', setServerState(HAPROXY_BACKEND, 'web-02', 'maint'));
  const checks = verifyFails(['web-01 backends', 'web-01 http']);
  assert.is(checks.get('web-01 backends')!.figure, '1/2 backends UP');
  assert.match(checks.get('web-01 backends')!.detail ?? '', /web-02 MAINT/);
  assert.match(checks.get('web-01 http')!.detail ?? '', /never answered: web-02/);
  assert.is(checks.get('web-02 backends')!.figure, '2/2 backends UP');
  await sshOk('web-01', setServerState(HAPROXY_BACKEND, 'web-02', 'ready'));
  await untilBackInRotation(['web-01']);
  verifyPasses();
});

test('Nginx stopped on web-02: both load balancers see it DOWN and never reach it; its app still answers', async () => {
  await sshOk('web-02', 'systemctl stop nginx');
  for (const lb of HOSTS) await untilBackend(lb, /^DOWN/);
  // web-01, a load balancer, cannot connect to web-02's Nginx either (refused: nothing listens).
  const checks = verifyFails(['web-01 backends', 'web-02 backends', 'web-01 http', 'web-02 http', 'web-01 paths']);
  for (const lb of HOSTS) {
    assert.match(checks.get(`${lb} backends`)!.detail ?? '', /web-02 DOWN/);
    assert.match(checks.get(`${lb} http`)!.detail ?? '', /never answered: web-02/);
  }
  await sshOk('web-02', 'systemctl start nginx');
  await untilBackInRotation();
  verifyPasses();
});

test('the app on web-02 failing /healthz (HTTP 503): its health check fails, and HAProxy takes it out', async () => {
  await sshOk('web-02', `touch ${APP_CURRENT}/FAIL_HEALTH`);
  for (const lb of HOSTS) await untilBackend(lb, /^DOWN/);
  const checks = verifyFails(['web-02 app', 'web-01 backends', 'web-02 backends', 'web-01 http', 'web-02 http']);
  assert.is(checks.get('web-02 app')!.figure, 'HTTP 503');
  assert.match(checks.get('web-02 app')!.detail ?? '', /FAIL_HEALTH/);
  assert.is(checks.get('web-01 app')!.figure, 'HTTP 200');
  await sshOk('web-02', `rm ${APP_CURRENT}/FAIL_HEALTH`);
  await untilBackInRotation();
  verifyPasses();
});

test.run();
