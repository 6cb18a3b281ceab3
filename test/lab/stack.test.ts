// Issue 4 on real lab servers: from pristine hosts one apply builds the stack, verify proves it,
// a second apply changes nothing, both load balancers reach both web servers, replication carries
// a visit, a bad Nginx template is refused with nginx's own words, drift is put back.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { addressOf, brokenNginxTemplates, LAB, lbGet, onHost, onHostOk, tandem, tandemJson } from './tandem.ts';
import { resetHosts, sshExec } from './harness.ts';
import { handOffStack } from './shared-stack.ts';

const LBS = { 'web-01': addressOf('web-01'), 'web-02': addressOf('web-02') } as const;

test.before(async () => {
  await resetHosts(['web-01', 'web-02']);
});

test('one apply on pristine servers builds the stack, and its report lists every change', () => {
  const r = tandemJson(['apply']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.summary.failed, 0);
  console.log(`    fresh apply: ${r.ms} ms wall, ${r.json.summary.changed} changes`);
  for (const host of ['web-01', 'web-02']) {
    const changed = r.json.hosts[host].ops.filter((o: any) => o.status === 'changed').map((o: any) => o.op);
    const packages = changed.find((op: string) => op.startsWith('packages '))?.split(' ') ?? [];
    // openssl makes the placeholder certificate HAProxy first starts with, with a tls: section.
    for (const p of ['ca-certificates', 'curl', 'haproxy', 'mariadb-client', 'mariadb-server', 'nftables', 'nginx', 'nodejs', 'socat', 'tzdata', ...(LAB.tls ? ['openssl'] : [])]) {
      assert.ok(packages.includes(p), `${host}: the packages op installs ${p} (it installs ${packages.join(' ')})`);
    }
    for (const expected of [
      'template /etc/mysql/mariadb.conf.d/60-tandem.cnf',
      'template /etc/nginx/sites-enabled/tandem.conf',
      'template /etc/haproxy/haproxy.cfg',
      'template /etc/tandem/app.env',
      'service tandem-app',
    ]) {
      assert.ok(changed.includes(expected), `${host}: the report lists "${expected}" (has: ${changed.join(' | ')})`);
    }
    assert.is(r.json.hosts[host].changed, changed.length);
  }
  const replicaOps = r.json.hosts['web-02'].ops.map((o: any) => o.op);
  assert.ok(replicaOps.includes('mysql replication from web-01'));
  assert.not.match(JSON.stringify(r.json), readFileSync(LAB.secretsFile, 'utf8').match(/db_app_password: (\S+)/)![1]!);
});

test('verify passes every check', () => {
  const r = tandemJson(['verify']);
  const failed = r.json.checks.filter((c: any) => !c.ok);
  assert.equal(failed, [], JSON.stringify(failed));
  assert.ok(r.json.checks.length >= 11);
  const canary = r.json.checks.find((c: any) => c.check.startsWith('a canary row'));
  console.log(`    ${canary.figure}`);
});

test('a second apply reports "changed": 0 in one remote command per host (the run lock included)', () => {
  const r = tandemJson(['apply']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.summary.changed, 0);
  // One remote command per host: the run lock rides in the fact batch, and ends with the connection.
  for (const h of ['web-01', 'web-02']) assert.is(r.json.roundTrips[h], 1, `${h}: ${r.json.roundTrips[h]} remote commands`);
  console.log(`    no-op apply: ${r.ms} ms wall, remote commands ${JSON.stringify(r.json.roundTrips)}`);
});

test('requests sent to either load balancer reach both web servers', async () => {
  for (const [lb, address] of Object.entries(LBS)) {
    const servers = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const res = await lbGet(address, '/');
      assert.is(res.status, 200, `${lb}: ${res.body.slice(0, 200)}`);
      servers.add(String(res.headers['x-app-server']));
    }
    assert.equal([...servers].sort(), ['web-01', 'web-02'], `through ${lb}`);
  }
  const css = await lbGet(LBS['web-02'], '/app.css');
  assert.is(css.status, 200);
  assert.is(css.headers['x-app-server'], undefined, 'static files come from Nginx, not the app');
});

test('a visit posted on server 1 is read back through server 2 replica, which is read-only', async () => {
  const post = onHost('web-01', `curl -fsS -X POST -H 'content-type: application/json' -d '{"note":"lab test"}' http://127.0.0.1:3000/visits`);
  assert.is(post.code, 0, post.stderr);
  const { id } = JSON.parse(post.stdout) as { id: number };
  let seen = '';
  for (let i = 0; i < 50 && !seen.includes('lab test'); i++) {
    seen = onHost('web-02', `curl -sS http://127.0.0.1:3000/visits/${id}`).stdout;
  }
  assert.match(seen, /"source":"local"/);
  assert.match(seen, /lab test/);
  assert.is(onHostOk('web-02', "mysql -N -B -e 'SELECT @@GLOBAL.read_only'").trim(), '1');
  // A write by an account allowed to write app.* but without the privilege to bypass read_only
  // (made on the replica alone, unlogged, and dropped after) is refused for being read-only.
  const probe = "'tandem_probe'@'localhost'";
  assert.is((await sshExec('web-02', 'mariadb', { input: `SET SESSION sql_log_bin = 0; CREATE USER ${probe}; GRANT INSERT ON app.* TO ${probe};` })).code, 0);
  try {
    const refused = await sshExec('web-02', `mariadb -u tandem_probe app -e "INSERT INTO visits (server, note) VALUES ('lab test', 'direct write')"`);
    assert.is(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /ERROR 1290 .*--read-only/);
  } finally {
    assert.is((await sshExec('web-02', 'mariadb', { input: `SET SESSION sql_log_bin = 0; DROP USER ${probe};` })).code, 0);
  }
});

test('an invalid Nginx template is refused with nginx own message, and the old config keeps serving', async () => {
  const before = onHostOk('web-01', 'cat /etc/nginx/sites-enabled/tandem.conf');
  const r = tandem(['apply', '--limit', 'web-01'], { TANDEM_TEMPLATES: brokenNginxTemplates() });
  assert.is(r.code, 1);
  assert.match(r.stdout + r.stderr, /unknown directive "bogus_directive"/, r.stdout + r.stderr);
  assert.is(onHostOk('web-01', 'cat /etc/nginx/sites-enabled/tandem.conf'), before, 'the previous file is back');
  assert.is(onHostOk('web-01', 'ls /etc/nginx/sites-enabled/').trim(), 'tandem.conf', 'nothing but the site is left there');
  const res = await lbGet(LBS['web-01'], '/');
  assert.is(res.status, 200);
  assert.is(onHostOk('web-01', "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/app.css"), '200');
});

test('a hand edit is shown by plan and put back by apply, reloading only that service on that server', () => {
  assert.is(onHost('web-02', "sed -i 's/keepalive 16;/keepalive 3;/' /etc/nginx/sites-enabled/tandem.conf").code, 0);
  const plan = tandem(['plan']);
  assert.is(plan.code, 2);
  assert.match(plan.stdout, /-\s+keepalive 3;/);
  assert.match(plan.stdout, /\+\s+keepalive 16;/);
  const r = tandemJson(['apply']);
  assert.is(r.json.summary.changed, 1);
  const changed = Object.entries(r.json.hosts).flatMap(([h, v]: [string, any]) =>
    v.ops.filter((o: any) => o.status === 'changed').map((o: any) => `${h} ${o.op}`),
  );
  assert.equal(changed, ['web-02 template /etc/nginx/sites-enabled/tandem.conf']);
  const handlers = Object.entries(r.json.hosts).flatMap(([h, v]: [string, any]) => v.handlers.map((x: any) => `${h} ${x.handler}`));
  assert.equal(handlers, ['web-02 reload nginx']);
  assert.match(onHostOk('web-02', 'cat /etc/nginx/sites-enabled/tandem.conf'), /keepalive 16;/);
});

test('a database password changed by hand: plan names that account alone, apply sets it back', () => {
  assert.is(onHost('web-01', `mysql -e "ALTER USER 'app'@'${LBS['web-02']}' IDENTIFIED BY 'changed-by-hand'"`).code, 0);
  const plan = tandemJson(['plan']);
  assert.is(plan.code, 2);
  const accounts = plan.json.hosts['web-01'].ops.filter((o: any) => o.op.startsWith('mysql account'));
  assert.equal(
    accounts.map((o: any) => [o.op, o.status]),
    [
      [`mysql account app@${LBS['web-01']}`, 'ok'],
      [`mysql account app@${LBS['web-02']}`, 'changed'],
      [`mysql account tandem_repl@${LBS['web-02']}`, 'ok'],
      [`mysql account tandem_verify@${LBS['web-01']}`, 'ok'],
      // With a monitor host, the MySQL exporter's account too (docs/monitoring.md).
      ...(LAB.hosts.some((h) => h.roles.includes('monitor')) ? [[`mysql account tandem_exporter@${LBS['web-01']}`, 'ok']] : []),
    ],
  );
  assert.is(tandemJson(['apply']).json.summary.changed, 1);
  const health = onHostOk('web-02', "curl -s http://127.0.0.1:3000/healthz");
  assert.match(health, /"status":"ok"/, 'the app on web-02 reaches the primary with its password again');
});

test('a reload owed by an apply that died after writing a config: plan shows it, apply runs it on that server only', async () => {
  // What an apply killed between writing the Nginx site and reloading Nginx leaves behind.
  assert.is(onHost('web-02', 'mkdir -p /var/lib/tandem/backup/.pending-handlers && touch "/var/lib/tandem/backup/.pending-handlers/reload%20nginx"').code, 0);
  const plan = tandemJson(['plan']);
  assert.is(plan.code, 2);
  const owed = plan.json.hosts['web-02'].ops.filter((o: any) => o.status === 'changed');
  assert.equal(owed.map((o: any) => o.op), ['handler reload nginx']);
  assert.is(plan.json.hosts['web-01'].changed, 0);
  const r = tandemJson(['apply']);
  assert.is(r.code, 0, r.stderr);
  const handlers = Object.entries(r.json.hosts).flatMap(([h, v]: [string, any]) => v.handlers.map((x: any) => `${h} ${x.handler} ${x.status} ${x.owed}`));
  assert.equal(handlers, ['web-02 reload nginx changed true']);
  assert.is(onHostOk('web-02', 'ls -A /var/lib/tandem/backup/.pending-handlers').trim(), '');
  assert.is(tandemJson(['plan']).code, 0);
  await handOffStack();
});

test.run();
