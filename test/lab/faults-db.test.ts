// Database faults met by `plan` and `apply`, one at a time, on real servers, as an operator meets
// them: nothing is made worse, the message and exit code say what happened, and a re-run
// converges with verify passing.
//  - The replica's MariaDB stopped under a steady write load: apply starts it and re-reads what
//    the database says (its facts depend on the service's), so no dump is reloaded over the
//    replica's data, and the replica catches up holding every row of the primary.
//  - Replication broken by an SQL error, with unrelated drift on the same host: plan and apply
//    still converge that host's other work; the replication error is reported with what to do.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { addressOf, lbGet, tandemJson } from './tandem.ts';
import { sshOk, tandem, until } from './harness.ts';
import { provisionedStack } from './shared-stack.ts';
import { startLoad } from './load.ts';
import type { HttpAnswer } from '../../src/verify/http.ts';
import { NGINX_SITE } from '../../src/stack/names.ts';

const HOSTS = ['web-01', 'web-02'];
const LBS = HOSTS.map(addressOf);

const sql = (host: string, statements: string) => sshOk(host, 'mariadb -N -B', { input: statements });

async function replicaStatus(): Promise<Record<string, string>> {
  const out = await sshOk('web-02', 'mariadb -e "SHOW SLAVE STATUS\\G"');
  return Object.fromEntries([...out.matchAll(/^\s*(\w+): (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** One write through a load balancer: POST /visits, which the app writes on the primary. */
function postVisit(address: string): Promise<HttpAnswer> {
  const body = JSON.stringify({ note: 'faults-db load' });
  return lbGet(address, '/visits', { method: 'POST', timeoutMs: 5000, body, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } });
}

/** Waits until the replica has executed everything the primary has logged, and returns that position. */
async function caughtUp(): Promise<string> {
  const gtid = (await sql('web-01', 'SELECT @@GLOBAL.gtid_binlog_pos')).trim();
  const waited = (await sql('web-02', `SELECT MASTER_GTID_WAIT('${gtid}', 60)`)).trim();
  assert.is(waited, '0', `the replica reached the primary's GTID position ${gtid} within 60 s`);
  return gtid;
}

/** The table's rows on a host, as CHECKSUM TABLE and a count. */
async function tableSum(host: string, table: string): Promise<{ checksum: string; rows: number }> {
  const [checksum] = (await sql(host, `CHECKSUM TABLE ${table} EXTENDED`)).trim().split('\t').slice(1);
  const rows = Number((await sql(host, `SELECT COUNT(*) FROM ${table}`)).trim());
  return { checksum: checksum!, rows };
}

/** When the replica's app.visits was created: a dump loaded over it (DROP TABLE, CREATE TABLE) changes it. */
const visitsCreated = async () => (await sql('web-02', "SELECT CREATE_TIME FROM information_schema.tables WHERE table_schema = 'app' AND table_name = 'visits'")).trim();

interface OpReport {
  op: string;
  status: string;
  summary?: string;
  error?: string;
}
const opOf = (report: { hosts: Record<string, { ops: OpReport[] }> }, host: string, prefix: string): OpReport | undefined => report.hosts[host]!.ops.find((o) => o.op.startsWith(prefix));

test.before(async () => {
  await provisionedStack(HOSTS);
  // The app creates its table on the primary once it runs; wait until the replica has it too.
  await until('app.visits on the replica', async () => ((await visitsCreated()) ? true : undefined), { timeoutMs: 60_000 });
});

test("the replica's MariaDB stopped under write load: apply starts it, reloads no dump, and the replica catches up with every row", async () => {
  const createdBefore = await visitsCreated();
  const load = startLoad(LBS, { ratePerSecond: 20, send: postVisit });
  await until('20 writes through the load balancers', async () => (load.ok() >= 20 ? true : undefined), { timeoutMs: 60_000 });
  await sshOk('web-02', 'systemctl stop mariadb');
  const atStop = load.ok();
  await until('40 more writes while the replica is stopped', async () => (load.ok() >= atStop + 40 ? true : undefined), { timeoutMs: 60_000 });

  // What plan says first: the start, and replication known only once the server answers.
  const plan = await tandem(['plan', '--json']);
  assert.is(plan.code, 2, `plan: changes pending, no failure\n${plan.stderr}`);
  const planned = JSON.parse(plan.stdout);
  assert.is(opOf(planned, 'web-02', 'service mariadb')?.summary, 'start mariadb');
  assert.is(opOf(planned, 'web-02', 'mysql replication')?.status, 'pending', 'not a seed, not a refusal: known after the start');

  const applyStart = performance.now();
  const apply = await tandem(['apply', '--json'], { timeoutMs: 600_000 });
  const applyMs = performance.now() - applyStart;
  const beforeEnd = load.ok();
  await until('20 more writes after apply', async () => (load.ok() >= beforeEnd + 20 ? true : undefined), { timeoutMs: 60_000 });
  const l = await load.stop();
  assert.is(apply.code, 0, `apply exits 0\n${apply.stdout}\n${apply.stderr}`);
  const report = JSON.parse(apply.stdout);
  assert.is(opOf(report, 'web-02', 'service mariadb')?.summary, 'start mariadb');
  const repl = opOf(report, 'web-02', 'mysql replication')!;
  assert.ok(repl.status === 'ok' || /^start replication/.test(repl.summary ?? ''), `replication was resumed, not re-seeded: ${JSON.stringify(repl)}`);
  assert.not.match(apply.stdout, /seed/);

  // Healthy: both threads run with no error; every row of the primary, by checksum.
  await caughtUp();
  const status = await replicaStatus();
  assert.equal([status.Slave_IO_Running, status.Slave_SQL_Running, status.Last_SQL_Error, status.Last_IO_Error], ['Yes', 'Yes', '', '']);
  const [primary, replica] = [await tableSum('web-01', 'app.visits'), await tableSum('web-02', 'app.visits')];
  assert.equal(replica, primary, 'the replica holds every row of the primary');
  assert.ok(primary.rows >= l.sent - l.failed, `every write that succeeded is a row (${primary.rows} rows, ${l.sent - l.failed} writes answered 201)`);
  // No dump was loaded over the replica's data.
  assert.is(await visitsCreated(), createdBefore, "the replica's app.visits is the same table, not re-created by a dump");
  console.log(`    ${l.sent} writes (${l.failed} failed) during the stop and the apply (apply ${(applyMs / 1000).toFixed(1)} s); ${primary.rows} rows, checksums equal`);

  const again = tandemJson(['apply']);
  assert.is(again.code, 0, again.stderr);
  assert.is(again.json.summary.changed, 0, 'a re-run changes nothing');
  const verify = tandemJson(['verify']);
  assert.is(verify.code, 0, JSON.stringify(verify.json.checks?.filter((c: { ok: boolean }) => !c.ok)));
});

test("replication broken by an SQL error, and the replica's Nginx site edited: plan and apply still converge the site, and say what to do", async () => {
  await sql('web-01', 'CREATE DATABASE IF NOT EXISTS faults; CREATE TABLE IF NOT EXISTS faults.t (id INT PRIMARY KEY)');
  await caughtUp();
  // A row written on the replica alone (not logged), then the same key on the primary.
  await sql('web-02', 'SET SESSION sql_log_bin = 0; INSERT INTO faults.t VALUES (2)');
  await sql('web-01', 'INSERT INTO faults.t VALUES (2)');
  await until('the replica SQL thread to stop on the duplicate key', async () => ((await replicaStatus()).Last_SQL_Errno === '1062' ? true : undefined));
  const site = await sshOk('web-02', `cat ${NGINX_SITE}`);
  await sshOk('web-02', `sed -i '1i # edited by hand' ${NGINX_SITE}`);

  const plan = await tandem(['plan']);
  const planText = plan.stdout + plan.stderr;
  assert.is(plan.code, 1, `plan exits 1: a failure it cannot plan around\n${planText}`);
  assert.match(planText, new RegExp(`~ template ${NGINX_SITE}`), 'plan shows the site it would restore');
  assert.match(planText, /-# edited by hand/);
  assert.match(planText, /mysql replication from web-01: replication is broken and was left as it is: the SQL thread stopped with "[^"]*Duplicate entry '2'/);
  assert.ok((await sshOk('web-02', `cat ${NGINX_SITE}`)).startsWith('# edited by hand\n'), 'plan changed nothing');

  const apply = await tandem(['apply']);
  const applyText = apply.stdout + apply.stderr;
  assert.is(apply.code, 1, `apply exits 1\n${applyText}`);
  assert.match(applyText, /\[web-02\] ✔ changed template \/etc\/nginx\/sites-enabled\/tandem\.conf/);
  assert.match(applyText, /\[web-02\] ↻ handler reload nginx/);
  assert.match(applyText, /web-02: .*the SQL thread stopped with "[^"]*Duplicate entry '2'.*SHOW SLAVE STATUS names the failing event; .*run START SLAVE and check the SQL thread runs, then run apply again\./);
  assert.is(await sshOk('web-02', `cat ${NGINX_SITE}`), site, 'the site is as tandem wrote it');
  assert.is((await replicaStatus()).Last_SQL_Errno, '1062', 'the broken replica was left as it was');

  // Repaired by hand, as the message says: then apply converges and verify passes.
  await sql('web-02', 'SET SESSION sql_log_bin = 0; DELETE FROM faults.t WHERE id = 2; START SLAVE');
  await until('the replica SQL thread to run again', async () => ((await replicaStatus()).Slave_SQL_Running === 'Yes' ? true : undefined));
  const again = tandemJson(['apply']);
  assert.is(again.code, 0, again.stderr);
  assert.is(again.json.summary.changed, 0);
  await caughtUp();
  assert.equal(await tableSum('web-02', 'faults.t'), await tableSum('web-01', 'faults.t'));
  const verify = tandemJson(['verify']);
  assert.is(verify.code, 0, JSON.stringify(verify.json.checks?.filter((c: { ok: boolean }) => !c.ok)));
});

test.run();
