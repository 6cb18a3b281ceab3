// Moving the database primary on real servers, under a steady load through both load balancers
// that records every write the app acknowledged (201 with its id and a unique note):
//  - switchover (`promote web-02`, then back to web-01): every acknowledged write is on the new
//    primary, no read failed, the JSON report gives the write-unavailability window, verify
//    passes and plan finds nothing to change;
//  - failover: web-01's lab server is killed hard, `promote web-02 --failover`: every write
//    acknowledged (before the kill included) is on web-02, and writes succeed again;
//  - fencing and rejoin: web-01 started again refuses writes and the apps do not use it (out of
//    both load balancers, its read health fails); `rejoin web-01` makes it a replica again,
//    verify passes, a second apply changes nothing. The lab ends as it began (web-01 primary).
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { addressOf, LAB_INVENTORY, lbGet, tandemAsync, tandemJson } from './tandem.ts';
import { labSettings, resetHosts, sshExec, sshOk, until } from './harness.ts';
import { startLoad, steadyLoad } from './load.ts';
import { untilBackend } from './haproxy-stats.ts';
import { labBoot, labCrash } from '../../src/lab/index.ts';
import type { HttpAnswer } from '../../src/verify/http.ts';

const HOSTS = ['web-01', 'web-02'];
const LBS = HOSTS.map(addressOf);
const inventoryBefore = readFileSync(LAB_INVENTORY, 'utf8');

const sql = (host: string, statements: string) => sshOk(host, 'mariadb -N -B', { input: statements });

/** Acknowledged writes: the note each carried and the id the app answered. */
interface Acked {
  note: string;
  id: number;
  at: number;
}

/** A write load (POST /visits, a unique note each) and a read load (GET /visits), both through both load balancers. */
function startTraffic(label: string) {
  const acked: Acked[] = [];
  let n = 0;
  const t0 = performance.now();
  // Through the load balancers as a visitor (HTTPS for the domain when the lab has tls:).
  const post = async (address: string): Promise<HttpAnswer> => {
    const note = `${label}-${++n}`;
    const res = await lbGet(address, '/visits', { method: 'POST', timeoutMs: 5000, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ note }) });
    if (res.status === 201) acked.push({ note, id: Number(JSON.parse(res.body).id), at: performance.now() - t0 });
    return res;
  };
  const writes = startLoad(LBS, { ratePerSecond: 30, send: post });
  const reads = startLoad(LBS, { ratePerSecond: 90, send: (a) => httpGetVisits(a) });
  return { acked, writes, reads, sinceStart: () => performance.now() - t0 };
}

function httpGetVisits(address: string): Promise<HttpAnswer> {
  return lbGet(address, '/visits?limit=1', { timeoutMs: 5000 });
}

/** Waits until `more` further writes have been acknowledged. */
const moreAcked = (acked: Acked[], more: number) => {
  const want = acked.length + more;
  return until(`${more} more acknowledged writes`, async () => acked.length >= want || undefined, { timeoutMs: 60_000, everyMs: 100 });
};

/** Every acknowledged write's note is in app.visits on `host`, with the id the app answered. */
async function allOn(host: string, acked: Acked[]): Promise<void> {
  const rows = await sql(host, `SELECT id, note FROM app.visits WHERE note IN (${acked.map((a) => `'${a.note}'`).join(',')})`);
  const found = new Map(rows.trim().split('\n').filter(Boolean).map((l) => [l.split('\t')[1]!, Number(l.split('\t')[0])]));
  const missing = acked.filter((a) => found.get(a.note) !== a.id);
  assert.equal(missing.slice(0, 5), [], `${missing.length} of ${acked.length} acknowledged writes are missing on ${host}`);
}

/** A host's roles as the inventory file now says them. */
const rolesOf = (host: string): string => (parse(readFileSync(LAB_INVENTORY, 'utf8')).hosts[host].roles as string[]).join(',');
const fencedIn = (): string[] => parse(readFileSync(LAB_INVENTORY, 'utf8')).db?.fenced ?? [];

/** The CLI with --json in the background: the loads keep running meanwhile (tandemJson blocks the event loop). */
async function tandemJsonAsync(args: string[]): Promise<{ code: number; json: any; stderr: string }> {
  const r = await tandemAsync([...args, '--json']);
  try {
    return { code: r.code, json: JSON.parse(r.stdout), stderr: r.stderr };
  } catch {
    throw new Error(`tandem ${args.join(' ')} printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** verify, polled until it passes (replication reconnecting, HAProxy's rise after a restart). */
async function untilVerified(): Promise<void> {
  let last: { code: number; json: any } = { code: -1, json: {} };
  await until('verify to pass', async () => {
    last = await tandemJsonAsync(['verify']);
    return last.code === 0 || undefined;
  }, { timeoutMs: 90_000, everyMs: 2000, seen: () => JSON.stringify(last.json.checks?.filter((c: any) => !c.ok) ?? last.json) });
}

async function semiSyncActive(host: string): Promise<void> {
  await until(`semi-sync active on ${host}`, async () => {
    const out = await sql(host, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients')");
    return /clients\t[1-9]/.test(out) && /status\tON/.test(out) ? true : undefined;
  }, { timeoutMs: 30_000 });
}

test.before(async () => {
  await resetHosts(HOSTS);
  const r = tandemJson(['apply']);
  assert.is(r.code, 0, r.stderr);
  await untilVerified();
});

test.after(() => {
  // The lab inventory is shared by the next test files: its roles go back exactly as they were.
  writeFileSync(LAB_INVENTORY, inventoryBefore);
});

test('switchover to web-02 and back, under load: no acknowledged write lost, no read failed, the window reported, verify passes, plan is empty', async () => {
  const t = startTraffic('switchover');
  const windows: number[] = [];
  let stopped: [Awaited<ReturnType<typeof t.writes.stop>>, Awaited<ReturnType<typeof t.reads.stop>>] | undefined;
  try {
    for (const [to, from] of [['web-02', 'web-01'], ['web-01', 'web-02']] as const) {
      await semiSyncActive(from);
      await moreAcked(t.acked, 60);
      const ran = await tandemJsonAsync(['promote', to]);
      assert.is(ran.code, 0, ran.stderr);
      const report = ran.json;
      assert.is(report.mode, 'switchover');
      assert.equal([report.from, report.to], [from, to]);
      assert.type(report.writeUnavailableMs, 'number');
      windows.push(report.writeUnavailableMs);
      assert.match(rolesOf(to), /db-primary/);
      assert.match(rolesOf(from), /db-replica/);
      // Writes go on, now to the new primary.
      await moreAcked(t.acked, 60);
      const plan = await tandemJsonAsync(['plan']);
      assert.is(plan.code, 0, `plan after promote ${to} finds changes: ${JSON.stringify(Object.values(plan.json.hosts ?? {}).flatMap((h: any) => h.ops.filter((o: any) => o.status !== 'ok').map((o: any) => `${o.host} ${o.op}: ${o.status} ${o.detail ?? ''}`)))}`);
      await untilVerified();
    }
  } finally {
    stopped = [await t.writes.stop(), await t.reads.stop()];
  }
  const [writes, reads] = stopped;
  await allOn('web-01', t.acked);
  await allOn('web-02', t.acked);
  const readLine = steadyLoad(reads, 500);
  console.log(`    switchover: write windows ${windows.join(' ms, ')} ms; ${t.acked.length} acknowledged writes checked on both servers (${writes.sent} sent, ${writes.failed} refused while writes moved); reads: ${readLine}`);
});

test('failover after a hard kill of the primary: every acknowledged write is on web-02, writes succeed again', async () => {
  const config = await labSettings();
  await semiSyncActive('web-01');
  const t = startTraffic('failover');
  let killedAt = 0;
  let ackedBeforeKill = 0;
  let reported = 0;
  try {
    await moreAcked(t.acked, 60);
    await labCrash(config, 'web-01', () => {});
    killedAt = t.sinceStart();
    ackedBeforeKill = t.acked.length;
    const ran = await tandemAsync(['promote', 'web-02', '--failover', '--json']);
    assert.is(ran.code, 0, ran.stderr);
    const report = JSON.parse(ran.stdout);
    assert.equal([report.mode, report.from, report.to, report.fenced], ['failover', 'web-01', 'web-02', 'web-01']);
    assert.type(report.writeUnavailableMs, 'number');
    reported = report.writeUnavailableMs;
    await moreAcked(t.acked, 30);
  } finally {
    await t.writes.stop();
    await t.reads.stop();
  }
  const firstAfter = t.acked.find((a) => a.at > killedAt)!;
  await allOn('web-02', t.acked);
  assert.match(rolesOf('web-02'), /db-primary/);
  assert.equal(fencedIn(), ['web-01']);
  console.log(
    `    failover: ${ackedBeforeKill} writes acknowledged before the kill, ${t.acked.length} in all, every one on web-02; ` +
      `first acknowledged write ${Math.round(firstAfter.at - killedAt)} ms after the kill (the failover itself reports ${reported} ms)`,
  );
});

test('fencing and rejoin: web-01 started again refuses writes and the apps do not use it; rejoin makes it a replica, verify passes, a second apply changes nothing', async () => {
  await labBoot(await labSettings(), 'web-01', () => {});
  await until('MariaDB on web-01', async () => ((await sshExec('web-01', "mariadb -N -e 'SELECT 1'")).code === 0 ? true : undefined), { timeoutMs: 60_000 });
  assert.is((await sql('web-01', 'SELECT @@GLOBAL.read_only')).trim(), '1', 'it started read-only from its config file');
  // Its own app still names it the primary (promote could not reach it): the write is refused.
  const write = await sshExec('web-01', "curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' -d '{}' http://127.0.0.1:3000/visits");
  assert.is(write.stdout, '503');
  const health = await sshExec('web-01', "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:3000/healthz/read");
  assert.is(health.stdout, '503', 'a read-only server that does not replicate serves no reads');
  await untilBackend('web-02', /^UP/, HOSTS);
  await untilBackend('web-01', /^DOWN/, HOSTS);
  const t = startTraffic('fenced');
  await moreAcked(t.acked, 30);
  const writes = await t.writes.stop();
  const reads = await t.reads.stop();
  assert.is(reads.failed, 0, reads.failures.join('\n'));
  assert.is(writes.failed, 0, writes.failures.join('\n'));
  assert.is((await sql('web-01', `SELECT COUNT(*) FROM app.visits WHERE note LIKE 'fenced-%'`)).trim(), '0', 'no write reached web-01');

  // A diverged history, as a primary that committed past what it sent before it died leaves it:
  // a transaction logged on web-01 alone (root bypasses read_only).
  await sql('web-01', "INSERT INTO app.visits (server, note) VALUES ('web-01', 'errant')");
  const rejoin = tandemJson(['rejoin', 'web-01']);
  assert.is(rejoin.code, 0, rejoin.stderr);
  assert.is(rejoin.json.rejoin.errant.length, 1, JSON.stringify(rejoin.json.rejoin));
  assert.is(rejoin.json.rejoin.reseed, true);
  assert.match(rejoin.stderr, /web-01 holds 1 transaction group\(s\) web-02 never saw .*: its history diverged/);
  assert.match(await sshOk('web-01', `grep -c "'errant'" ${rejoin.json.rejoin.backup}`), /^1/, 'what it held is kept in the dump');
  assert.is((await sql('web-01', "SELECT COUNT(*) FROM app.visits WHERE note = 'errant'")).trim(), '0', "web-01 now holds web-02's data");
  assert.equal(fencedIn(), []);
  await untilVerified();
  await allOn('web-01', t.acked);
  const again = tandemJson(['apply']);
  assert.is(again.code, 0, again.stderr);
  assert.is(again.json.summary.changed, 0, 'a second apply changes nothing');
  console.log(`    rejoin: errant ${rejoin.json.rejoin.errant.join(', ')} found, web-01 re-seeded from web-02; verify passes; a second apply changed nothing`);

  // The lab as it began: web-01 primary.
  const back = tandemJson(['promote', 'web-01']);
  assert.is(back.code, 0, back.stderr);
  assert.is(readFileSync(LAB_INVENTORY, 'utf8'), inventoryBefore);
});

test.run();
