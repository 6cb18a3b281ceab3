// Issue 5 on real lab servers, under a steady load (>= 50 requests/s over both load balancers):
// deploys and rollbacks drop no request; a failing release is rolled back by itself; a second
// deploy is refused while one runs.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { appVersion, onHost, onHostOk, tandem, tandemAsync, tandemJson } from './tandem.ts';
import { sshExec, until } from './harness.ts';
import { provisionedStack } from './shared-stack.ts';
import { MIN_RATE_PER_SECOND, startLoad, steadyLoad } from './load.ts';
import { readInventory } from './variants.ts';
import { prepareRelease } from '../../src/release/prepare.ts';

const HOSTS = ['web-01', 'web-02'];
const LBS = HOSTS.map((name) => readInventory().hosts.find((h) => h.name === name)!.address);
/**
 * A deploy or rollback of two servers under load lasts 2-3 s on an idle lab machine (longer on a
 * busy one); at the least rate that is over this many requests.
 */
const MIN_REQUESTS = 100;

function versionsServed(): string[] {
  return HOSTS.map((h) => onHostOk(h, 'curl -sS http://127.0.0.1:8080/version').trim());
}

test.before(async () => {
  await provisionedStack(HOSTS);
});

test('deploying a new version under load: 0 failed requests, every server on the new version', async () => {
  const load = startLoad(LBS, { ratePerSecond: 80 });
  const r = await tandemAsync(['deploy', '--source', appVersion('1.0.1'), '--json']);
  const l = await load.stop();
  assert.is(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout);
  const served = steadyLoad(l, MIN_REQUESTS);
  assert.equal(versionsServed(), ['1.0.1', '1.0.1']);
  for (const h of HOSTS) {
    assert.is(report.servers[h].status, 'updated');
    assert.match(report.servers[h].from, /^1\.0\.0-/);
    assert.match(report.servers[h].to, /^1\.0\.1-/);
  }
  const longest = Math.max(...HOSTS.map((h) => report.servers[h].outOfRotationMs));
  console.log(`    deploy: ${r.ms} ms wall, longest out of rotation ${longest} ms; load ${served}`);
});

test('status after the deploy: the new release on each server, the old one to roll back to, UP in every load balancer, replication running', () => {
  const st = tandemJson(['status']);
  assert.is(st.code, 0, st.stderr);
  for (const h of HOSTS) {
    assert.match(st.json.servers[h].current, /^1\.0\.1-/);
    assert.match(st.json.servers[h].rollbackTo, /^1\.0\.0-/);
  }
  for (const lb of HOSTS) assert.equal(st.json.loadBalancers[lb], { 'web-01': 'UP', 'web-02': 'UP' }, `in ${lb}`);
  assert.is(st.json.servers['web-02'].replication.io, 'Yes');
  assert.is(st.json.servers['web-02'].replication.sql, 'Yes');
  const table = tandem(['status']);
  assert.match(table.stdout, /^web-02\s+lb,web,app,db-replica(,monitor)?\s+1\.0\.1-\S+\s+IO Yes, SQL Yes, lag \d+ s\s+UP\s+UP$/m);
});

test('a release whose /healthz fails is rolled back by itself: 0 failed requests, old version everywhere, exit 1', async () => {
  const load = startLoad(LBS, { ratePerSecond: 80 });
  const r = await tandemAsync(['deploy', '--source', appVersion('1.0.2', { failHealth: true })]);
  const l = await load.stop();
  assert.is(r.code, 1);
  assert.match(r.stdout + r.stderr, /web-01: \/healthz failed after the switch: HTTP 503: .*FAIL_HEALTH/);
  console.log(`    failed deploy rolled back: ${r.ms} ms wall; load ${steadyLoad(l, MIN_REQUESTS)}`);
  assert.equal(versionsServed(), ['1.0.1', '1.0.1']);
  for (const h of HOSTS) {
    assert.not.match(onHostOk(h, 'ls /srv/app/releases'), /^1\.0\.2-/m, `${h}: the failed release is removed, so rollback cannot land on it`);
  }
});

test('rollback after a good deploy: the previous version everywhere, 0 failed requests', async () => {
  const load = startLoad(LBS, { ratePerSecond: 80 });
  const r = await tandemAsync(['rollback', '--json']);
  const l = await load.stop();
  assert.is(r.code, 0, r.stdout + r.stderr);
  console.log(`    rollback: ${r.ms} ms wall; load ${steadyLoad(l, MIN_REQUESTS)}`);
  assert.equal(versionsServed(), ['1.0.0', '1.0.0']);
});

test('Ctrl-C during a deploy: the server in progress finishes, goes back, the lock is released; 0 failed requests', async () => {
  const source = appVersion('1.0.5', { startDelayMs: 4000 });
  await prepareRelease(source);
  const load = startLoad(LBS, { ratePerSecond: 80 });
  let child: ChildProcess | undefined;
  const sentBefore = load.sent();
  const t0 = performance.now();
  const run = tandemAsync(['deploy', '--source', source], {}, (c) => (child = c));
  // Wait until web-01 is being switched (its new release takes 4 s to start), then interrupt.
  // Polled over async ssh, so the load keeps running on the event loop meanwhile.
  await until('the deploy to switch web-01 to 1.0.5', async () => {
    const link = await sshExec('web-01', 'readlink /srv/app/current');
    assert.is.not(link.code, 255, `ssh failed: ${link.stderr}`);
    return link.stdout.includes('/1.0.5-') || undefined;
  }, { timeoutMs: 60_000 });
  const during = { sent: load.sent() - sentBefore, seconds: (performance.now() - t0) / 1000 };
  child!.kill('SIGINT');
  const r = await run;
  const l = await load.stop();
  assert.is(r.code, 130, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /interrupted: web-01 went back to the release they ran/);
  // The load ran while the deploy did, up to the interrupt, not only after it.
  assert.ok(during.sent / during.seconds >= MIN_RATE_PER_SECOND, `${during.sent} requests in the ${during.seconds.toFixed(1)} s before the interrupt`);
  console.log(`    Ctrl-C deploy: ${during.sent} requests in the ${during.seconds.toFixed(1)} s before the interrupt; load ${steadyLoad(l, MIN_REQUESTS)}`);
  assert.equal(versionsServed(), ['1.0.0', '1.0.0']);
  const st = tandemJson(['status']);
  for (const lb of HOSTS) assert.equal(st.json.loadBalancers[lb], { 'web-01': 'UP', 'web-02': 'UP' }, `in ${lb}`);
  for (const h of HOSTS) {
    assert.is(onHost(h, 'test -e /var/lib/tandem/deploy.lock').code, 1, `${h}: the lock is released`);
    assert.not.match(onHostOk(h, 'ls /srv/app/releases'), /^1\.0\.5-/m, `${h}: the interrupted release is removed`);
  }
});

/** The version the race below left live (1.0.0 was live before it). */
let live = '';

test('two deploys started at once: one goes through, the other is refused naming the holder of the lock', async () => {
  // Build both releases first, so the two deploys race on the servers, not in npm. Both start
  // slowly (4 s per server), so the winner holds the lock for 8 s or more whatever the machine's
  // speed, and the loser cannot arrive after it is done.
  const sources = { '1.0.3': appVersion('1.0.3', { startDelayMs: 4000 }), '1.0.4': appVersion('1.0.4', { startDelayMs: 4000 }) };
  for (const dir of Object.values(sources)) await prepareRelease(dir);
  const runs = await Promise.all(Object.values(sources).map((dir) => tandemAsync(['deploy', '--source', dir])));
  // The loser meets the winner's run lock (every verb that changes servers takes it) and exits 75.
  assert.equal(runs.map((r) => r.code).sort((a, b) => a - b), [0, 75], runs.map((r) => r.stdout + r.stderr).join('\n----\n'));
  const winner = Object.keys(sources)[runs.findIndex((r) => r.code === 0)]!;
  const loser = runs.find((r) => r.code === 75)!;
  assert.match(loser.stderr + loser.stdout, /web-01: another tandem run holds the run lock: root@\S+ \(deploy, pid \d+\) since \S+ \(expires \S+\)/);
  assert.equal(versionsServed(), [winner, winner]);
  for (const h of HOSTS) assert.is(onHost(h, 'test -e /var/lib/tandem/deploy.lock').code, 1, `${h}: the lock is released`);
  live = winner;
});

test('a lock left by a dead deploy: an unreadable one refuses, an expired one is taken over with a warning', async () => {
  onHostOk('web-02', `printf 'half-writ' > /var/lib/tandem/deploy.lock`);
  const refused = await tandemAsync(['rollback']);
  assert.is(refused.code, 1);
  assert.match(refused.stdout + refused.stderr, /web-02: another deploy holds the lock: an unreadable lock \("half-writ"\)\. .*--force-unlock/);
  assert.equal(versionsServed(), [live, live], 'a refused rollback touches nothing');
  assert.is(onHost('web-01', 'test -e /var/lib/tandem/deploy.lock').code, 1, 'the lock taken on web-01 was given back');

  const expired = JSON.stringify({ holder: 'ghost@ctl (pid 1)', since: '2026-01-01T00:00:00Z', until: '2026-01-01T00:30:00Z' });
  onHostOk('web-02', `printf '%s' '${expired}' > /var/lib/tandem/deploy.lock`);
  const r = await tandemAsync(['rollback']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /web-02: taking over an expired deploy lock: ghost@ctl \(pid 1\)/);
  assert.equal(versionsServed(), ['1.0.0', '1.0.0']);
  assert.is(onHost('web-02', 'test -e /var/lib/tandem/deploy.lock').code, 1, 'the lock is released');
});

test.run();
