// Issue 11 on real lab servers: after apply each server answers this machine only on SSH (and
// HTTP/HTTPS on the load balancers); replication, verify, deploy under load and status still work;
// an admin list that excludes this machine fails the apply and the server is reachable again with
// its previous rules within the rollback's timeout; a rule added by hand is drift that plan shows
// and apply removes; after a power cut and a boot the rules come back from the boot unit before
// any service listens. One provisioned stack for all.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { addressOf, appVersion, LAB, onHost, onHostOk, tandem, tandemAsync, tandemJson } from './tandem.ts';
import { labSettings, until } from './harness.ts';
import { labBoot, labCrash } from '../../src/lab/index.ts';
import { startLoad, steadyLoad } from './load.ts';
import { labVariant } from './variants.ts';
import { probePort, type PortState } from '../../src/verify/ports.ts';
import { loadWithRollback, NEXT_FILE } from '../../src/firewall/commands.ts';
import { HAPROXY_METRICS_PORT, HAPROXY_STATS_PORT, HTTP_PORT, HTTPS_PORT, MYSQLD_EXPORTER_PORT, MYSQL_PORT, NGINX_EXPORTER_PORT, NGINX_PORT, NODE_EXPORTER_PORT } from '../../src/stack/names.ts';

const HOSTS = ['web-01', 'web-02'];
const LBS = HOSTS.map(addressOf);
const SSH = 22;
const APP_PORT = LAB.app.port;
/** Open only to the monitor hosts (this machine is none): the exporters and HAProxy's metrics. */
const EXPORTER_PORTS = [NODE_EXPORTER_PORT, MYSQLD_EXPORTER_PORT, NGINX_EXPORTER_PORT, HAPROXY_METRICS_PORT];
const PORTS = [SSH, HTTP_PORT, HTTPS_PORT, MYSQL_PORT, NGINX_PORT, APP_PORT, HAPROXY_STATS_PORT, ...EXPORTER_PORTS];
/** The lab's control machine (the bridge's address): what the servers see this machine connect from. */
const CONTROL = LAB.lab!.gateway.split('/')[0]!;
/** An address of the lab's subnet that no server has: an admin list of it excludes this machine. */
const ELSEWHERE = CONTROL.replace(/\.\d+$/, '.250');
const ROLLBACK_SECONDS = 15;

const listing = (host: string) => onHostOk(host, 'nft list table inet tandem');

async function exposure(host: string): Promise<Record<number, PortState>> {
  const seen = await Promise.all(PORTS.map(async (p) => [p, await probePort(addressOf(host), p, 2000)] as const));
  return Object.fromEntries(seen);
}

test.before(() => {
  const r = tandemJson(['apply']);
  assert.is(r.code, 0, r.stderr);
});

test('after apply, from this machine: only ssh answers, and http/https on the load balancers; the database, Nginx, the app and HAProxy stats do not', async () => {
  for (const h of HOSTS) {
    const seen = await exposure(h);
    console.log(`    ${h} from ${CONTROL}: ${PORTS.map((p) => `${p} ${seen[p]}`).join(', ')}`);
    assert.is(seen[SSH], 'open', `${h}: ssh`);
    assert.is(seen[HTTP_PORT], 'open', `${h}: http (lb)`);
    // With a tls: section HAProxy answers on 443; without, nothing listens there: reached (closed), not dropped.
    if (LAB.tls) assert.is(seen[HTTPS_PORT], 'open', `${h}: https (lb)`);
    else assert.ok(seen[HTTPS_PORT] !== 'filtered', `${h}: https is let through (${seen[HTTPS_PORT]})`);
    for (const p of [MYSQL_PORT, NGINX_PORT, APP_PORT, HAPROXY_STATS_PORT, ...EXPORTER_PORTS]) assert.is(seen[p], 'filtered', `${h}: port ${p} is dropped`);
    // The table is tandem's own, input policy drop; other tables would be left alone.
    assert.match(listing(h), /type filter hook input priority filter; policy drop;/);
  }
  // The servers still reach each other where the stack needs it: the replica the primary's database, each lb each Nginx.
  assert.is(onHost('web-02', `timeout 3 bash -c 'exec 3<>/dev/tcp/${addressOf('web-01')}/${MYSQL_PORT}'`).code, 0, 'replica -> primary database');
  assert.is(onHost('web-01', `curl -sS -o /dev/null -w '%{http_code}' http://${addressOf('web-02')}:${NGINX_PORT}/healthz`).stdout, '200', 'lb -> the other Nginx');
});

test('verify passes with its firewall checks (a table per host) and replication carrying the canary; status is healthy', () => {
  const v = tandemJson(['verify']);
  assert.is(v.code, 0, JSON.stringify(v.json.checks.filter((c: any) => !c.ok)));
  const fw = v.json.checks.filter((c: any) => c.check === 'the firewall lets this machine reach only what it should');
  assert.equal(fw.map((c: any) => c.host), HOSTS);
  for (const c of fw) {
    const row = (p: number) => c.rows.find((r: any) => r.port === p);
    assert.equal([row(SSH).expected, row(HTTP_PORT).expected, row(MYSQL_PORT).expected, row(NGINX_PORT).expected], ['allowed', 'allowed', 'blocked', 'blocked']);
  }
  const paths = v.json.checks.filter((c: any) => c.check === 'the paths the stack needs from this server are open');
  assert.ok(paths.some((c: any) => c.host === 'web-02' && /web-01:3306 ok/.test(c.figure)), JSON.stringify(paths));
  assert.ok(v.json.checks.some((c: any) => c.check === 'a canary row written on the primary is read on the replica' && c.ok));
  const st = tandemJson(['status']);
  assert.is(st.code, 0, st.stderr);
  assert.is(st.json.servers['web-02'].replication.io, 'Yes');
});

test('deploy under load through the firewall: 0 failed requests, every server switched', async () => {
  const served = () => HOSTS.map((h) => onHostOk(h, `curl -sS http://127.0.0.1:${NGINX_PORT}/version`).trim());
  // A version the servers do not run yet, so that the deploy switches every one of them.
  const version = served().includes('1.1.0') ? '1.1.1' : '1.1.0';
  const load = startLoad(LBS, { ratePerSecond: 80 });
  const r = await tandemAsync(['deploy', '--source', appVersion(version), '--json']);
  const l = await load.stop();
  assert.is(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout);
  for (const h of HOSTS) assert.is(report.servers[h].status, 'updated', h);
  console.log(`    deploy through the firewall: load ${steadyLoad(l, 100)}`);
  assert.equal(served(), [version, version]);
});

test('a rule added by hand inside the table: plan shows it (exit 2), apply removes it; a second apply changes nothing in one remote command per host', async () => {
  onHostOk('web-01', `nft add rule inet tandem input tcp dport ${MYSQL_PORT} accept`);
  assert.is(await probePort(addressOf('web-01'), MYSQL_PORT), 'open', 'the hand-added rule opened the database');
  const plan = tandem(['plan']);
  assert.is(plan.code, 2, plan.stdout + plan.stderr);
  assert.match(plan.stdout, /repair the firewall: table inet tandem was changed since tandem loaded it/);
  // The diff goes from the live table to the one tandem loaded: the hand-added line is removed.
  assert.match(plan.stdout, new RegExp(`^\\s+-\\s+tcp dport ${MYSQL_PORT} accept$`, 'm'));
  const apply = tandemJson(['apply']);
  assert.is(apply.code, 0, apply.stderr);
  assert.ok(apply.json.hosts['web-01'].ops.some((o: any) => o.op === 'firewall table inet tandem' && o.status === 'changed'));
  assert.not.match(listing('web-01'), new RegExp(`^\\s+tcp dport ${MYSQL_PORT} accept$`, 'm'));
  assert.is(await probePort(addressOf('web-01'), MYSQL_PORT), 'filtered');
  const again = tandemJson(['apply']);
  assert.is(again.json.summary.changed, 0, JSON.stringify(again.json.hosts, null, 1).slice(0, 2000));
  assert.equal(again.json.roundTrips, { 'web-01': 1, 'web-02': 1 });
});

test('the rules come back at boot: web-02 cut off and booted again with no ruleset in its kernel, the table is loaded before its services start, plan sees no drift', async () => {
  const before = listing('web-02');
  assert.match(onHostOk('web-02', 'systemctl is-enabled tandem-firewall; systemctl show -P Before tandem-firewall'), /enabled\n.*network-pre\.target/);
  // A power cut, then a boot from the same disk in a fresh network namespace: nothing of the
  // running ruleset survives; only what the boot unit loads from disk.
  const config = await labSettings();
  await labCrash(config, 'web-02', () => {});
  await labBoot(config, 'web-02', () => {});
  assert.is(listing('web-02'), before);
  let active = '';
  await until('MariaDB, Nginx and HAProxy to run on web-02 again', async () => {
    active = onHost('web-02', 'systemctl is-active mariadb nginx haproxy').stdout;
    return active === 'active\nactive\nactive\n' || undefined;
  }, { timeoutMs: 60_000, seen: () => active });
  // Loaded before anything listened: the boot unit was done before each service started.
  const at = (unit: string, property: string) => Number(onHostOk('web-02', `systemctl show -P ${property} ${unit}`).trim());
  const loaded = at('tandem-firewall', 'ActiveEnterTimestampMonotonic');
  assert.ok(loaded > 0, 'the boot unit ran');
  for (const unit of ['mariadb', 'nginx', 'haproxy']) assert.ok(loaded < at(unit, 'ExecMainStartTimestampMonotonic'), `tandem-firewall was active before ${unit} started`);
  assert.is(await probePort(addressOf('web-02'), MYSQL_PORT), 'filtered');
  const plan = tandem(['plan', '--limit', 'web-02']);
  assert.is(plan.code, 0, plan.stdout);
});

test('firewall.admin excluding this machine: apply fails naming the ssh rule; the server is reachable again, with its previous rules, within the timeout', async () => {
  const before = listing('web-02');
  const lockout = labVariant('firewall-lockout', (d) => {
    d.firewall = { admin: [ELSEWHERE], rollback_after: ROLLBACK_SECONDS };
  });
  const t0 = performance.now();
  const r = tandem(['apply', '-i', lockout, '--limit', 'web-02']);
  assert.is(r.code, 1, r.stdout + r.stderr);
  const out = r.stdout + r.stderr;
  assert.match(out, new RegExp(`the new firewall let no new SSH connection in: the rule "ssh from firewall\\.admin" admits tcp port 22 from ${ELSEWHERE.replace(/\./g, '\\.')} only, and this machine connects from ${CONTROL.replace(/\./g, '\\.')} \\(as web-02 sees it\\)`));
  await until('a new SSH connection to web-02', async () => (onHost('web-02', 'true').code === 0 ? true : undefined), { timeoutMs: (ROLLBACK_SECONDS + 10) * 1000, everyMs: 500 });
  console.log(`    lockout refused and rolled back: web-02 reachable again ${Math.round(performance.now() - t0)} ms after the apply started`);
  assert.is(listing('web-02'), before, 'the previous rules');
  assert.is(onHost('web-02', `grep -qF 'ip saddr ${CONTROL} tcp dport 22' /etc/tandem/firewall.nft`).code, 0, 'the boot file still admits this machine');
  assert.is(onHost('web-02', 'systemctl is-active --quiet tandem-firewall-rollback.timer').code === 0, false, 'no rollback left armed');
});

test('the rollback by itself: a ruleset that shuts this machine out, loaded behind the timer with no one to disarm it, is gone within the timeout', async () => {
  const before = listing('web-02');
  const shut = before.replace(new RegExp(`ip saddr ${CONTROL.replace(/\./g, '\\.')} tcp dport 22`), `ip saddr ${ELSEWHERE} tcp dport 22`);
  assert.not.equal(shut, before);
  // The same script apply runs, over this (established, so kept) session; no confirmation follows.
  onHostOk('web-02', `printf '%s\\n' 'table inet tandem {}' 'delete table inet tandem' > ${NEXT_FILE} && cat >> ${NEXT_FILE} <<'EOF'\n${shut}EOF\n${loadWithRollback(ROLLBACK_SECONDS).script}`);
  const t0 = performance.now();
  assert.is(await probePort(addressOf('web-02'), SSH, 2000), 'filtered', 'new connections are shut out');
  await until('ssh to answer again', async () => ((await probePort(addressOf('web-02'), SSH, 1000)) === 'open' ? true : undefined), { timeoutMs: (ROLLBACK_SECONDS + 10) * 1000, everyMs: 500 });
  console.log(`    rollback by timer: ssh back ${Math.round(performance.now() - t0)} ms after the shutting ruleset was loaded (timer ${ROLLBACK_SECONDS} s)`);
  assert.is(listing('web-02'), before);
  const plan = tandem(['plan', '--limit', 'web-02']);
  assert.is(plan.code, 0, plan.stdout);
});

test.run();
