// The site degrades instead of falling, on real servers, one fault at a time: the primary
// database stopped (reads stay 200 through both load balancers, writes get the app's 503 JSON,
// status exits 6, apply recovers it); replication broken by an SQL error, and a replica lagging
// over db.max_replica_lag (the replica leaves rotation in both HAProxy, reads stay 200 from the
// primary's web server, status exits 5 naming why; repaired, it comes back and status exits 0).
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { addressOf, lbGet, tandem, tandemJson } from './tandem.ts';
import { sshOk, until } from './harness.ts';
import { handOffStack, provisionedStack } from './shared-stack.ts';
import { untilBackend as untilBackendIn } from './haproxy-stats.ts';
import type { HttpAnswer } from '../../src/verify/http.ts';

const LBS = ['web-01', 'web-02'];

/** SQL as root on a lab server (on stdin: no quoting). */
const sql = (host: string, statements: string) => sshOk(host, 'mariadb -N -B', { input: statements });

const untilBackend = (server: string, status: RegExp) => untilBackendIn(server, status, LBS);

/** Sends `rounds` of GET / and GET /visits through every load balancer; returns what answered. */
async function reads(rounds: number): Promise<{ sent: number; ok: number; servers: Set<string>; failures: string[] }> {
  const r = { sent: 0, ok: 0, servers: new Set<string>(), failures: [] as string[] };
  for (let i = 0; i < rounds; i++) {
    for (const lb of LBS) {
      for (const path of ['/', '/visits']) {
        r.sent++;
        let res: HttpAnswer;
        try {
          res = await lbGet(addressOf(lb), path);
        } catch (err) {
          r.failures.push(`${lb} ${path}: ${(err as Error).message}`);
          continue;
        }
        if (res.status === 200) r.ok++;
        else r.failures.push(`${lb} ${path}: HTTP ${res.status} ${res.body.slice(0, 160)}`);
        r.servers.add(String(res.headers['x-app-server']));
      }
    }
  }
  return r;
}

async function write(lb: string): Promise<{ status: number; json: any; type: string }> {
  // POST /visits with a JSON body, through the load balancer.
  const res = await lbGet(addressOf(lb), '/visits', { method: 'POST', timeoutMs: 5000, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ note: 'degrade test' }) });
  let json: any;
  try {
    json = JSON.parse(res.body);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, type: String(res.headers['content-type']) };
}

/** status --json, polled until its exit code is `code` (replication reconnects, HAProxy rises). */
async function untilStatus(code: number): Promise<any> {
  let last: { code: number; json: any } = { code: -1, json: {} };
  await until(`status to exit ${code}`, async () => {
    last = tandemJson(['status']);
    return last.code === code || undefined;
  }, { timeoutMs: 90_000, everyMs: 1000, seen: () => `exit ${last.code}: ${JSON.stringify(last.json.problems ?? last.json)}` });
  return last.json;
}

test.before(async () => {
  await provisionedStack(LBS);
  await sql('web-01', 'CREATE DATABASE faults; CREATE TABLE faults.t (id INT PRIMARY KEY)');
  const st = await untilStatus(0);
  assert.is(st.verdict, 'healthy');
});

test('the primary database stopped: reads stay 200 through both load balancers, writes answer 503 JSON, status exits 6; apply recovers', async () => {
  await sshOk('web-01', 'systemctl stop mariadb');
  // web-01's app reads from its own database, the primary: it leaves rotation; web-02 stays.
  await untilBackend('web-01', /^DOWN/);
  await untilBackend('web-02', /^UP/);
  const r = await reads(20);
  assert.equal(r.failures, [], `${r.ok}/${r.sent} reads answered 200`);
  assert.is(r.ok, r.sent);
  assert.equal([...r.servers], ['web-02'], 'reads are served by the replica\'s web server');
  for (const lb of LBS) {
    const w = await write(lb);
    assert.is(w.status, 503, JSON.stringify(w));
    assert.match(w.type, /^application\/json/, "the app's own 503, not HAProxy's page");
    assert.match(w.json.error, /the primary database is unavailable/);
  }
  const text = tandem(['status']);
  assert.is(text.code, 6, `${text.stdout}\n${text.stderr}`);
  assert.match(text.stdout, /verdict: down\n/);
  assert.match(text.stdout, /down\s+web-01\s+the primary database is not running/);
  console.log(`    primary stopped: ${r.ok}/${r.sent} reads 200; status exit ${text.code}:\n${text.stdout.replace(/^/gm, '      ')}`);
  const st = tandemJson(['status']);
  assert.is(st.code, 6);
  assert.is(st.json.verdict, 'down');
  assert.is(st.json.exitCode, 6);
  assert.ok(st.json.problems.some((p: any) => p.level === 'down' && p.host === 'web-01' && /primary database is not running/.test(p.what)), JSON.stringify(st.json.problems));
  assert.is(st.json.servers['web-02'].app.read, true);
  assert.is(st.json.servers['web-02'].app.write, false);

  const apply = tandemJson(['apply']);
  assert.is(apply.code, 0, apply.stderr);
  await untilBackend('web-01', /^UP/);
  await untilStatus(0);
  console.log(`    primary stopped: apply restarted it in ${(apply.ms / 1000).toFixed(1)} s, status healthy again`);
  const v = tandemJson(['verify']);
  assert.is(v.code, 0, JSON.stringify(v.json.checks.filter((c: any) => !c.ok)));
  const w = await write('web-01');
  assert.is(w.status, 201, JSON.stringify(w));
});

test('replication broken by an SQL error: the replica leaves rotation in both load balancers, status exits 5 naming it, reads stay 200; repaired, it returns', async () => {
  await sql('web-02', 'SET SESSION sql_log_bin = 0; INSERT INTO faults.t VALUES (2)');
  await sql('web-01', 'INSERT INTO faults.t VALUES (2)');
  await untilBackend('web-02', /^DOWN/);
  const r = await reads(20);
  assert.equal(r.failures, [], `${r.ok}/${r.sent} reads answered 200`);
  assert.equal([...r.servers], ['web-01'], "reads are served by the primary's web server alone");
  const st = tandemJson(['status']);
  assert.is(st.code, 5, JSON.stringify(st.json.problems));
  assert.is(st.json.verdict, 'degraded');
  assert.ok(st.json.problems.some((p: any) => p.host === 'web-02' && /^replication is broken: IO Yes, SQL No: .*Duplicate entry '2'/.test(p.what)), JSON.stringify(st.json.problems));
  assert.ok(st.json.problems.some((p: any) => p.host === 'web-02' && /^out of rotation in web-01 \(DOWN\), web-02 \(DOWN\)$/.test(p.what)), JSON.stringify(st.json.problems));
  const text = tandem(['status']);
  assert.is(text.code, 5);
  assert.match(text.stdout, /degraded\s+web-02\s+replication is broken/);
  console.log(`    replication broken: ${r.ok}/${r.sent} reads 200; status exit ${text.code}:\n${text.stdout.replace(/^/gm, '      ')}`);

  await sql('web-02', 'SET SESSION sql_log_bin = 0; DELETE FROM faults.t WHERE id = 2; START SLAVE SQL_THREAD');
  await untilBackend('web-02', /^UP/);
  const back = await untilStatus(0);
  assert.is(back.verdict, 'healthy');
});

test('a replica lagging over db.max_replica_lag (10 s): it leaves rotation, status exits 5 with the lag; caught up, it returns', async () => {
  await sql('web-02', 'STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 3600; START SLAVE');
  await sql('web-01', 'INSERT INTO faults.t VALUES (3)');
  await untilBackend('web-02', /^DOWN/);
  const st = tandemJson(['status']);
  assert.is(st.code, 5, JSON.stringify(st.json.problems));
  assert.ok(st.json.problems.some((p: any) => p.host === 'web-02' && /^the replica lags \d+ s behind, over the limit of 10 s$/.test(p.what)), JSON.stringify(st.json.problems));
  const r = await reads(10);
  assert.equal(r.failures, []);
  assert.equal([...r.servers], ['web-01']);
  await sql('web-02', 'STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 0; START SLAVE');
  await untilBackend('web-02', /^UP/);
  await untilStatus(0);
  assert.is(tandemJson(['apply']).json.summary.changed, 0, 'the stack is as apply leaves it');
  await handOffStack();
});

test.run();
