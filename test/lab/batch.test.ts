// Three servers (the lab inventory plus web-03, as inventory/lab-three.yml is for the shared lab):
// one apply builds a stack with two replicas, and
// `deploy --batch 2` switches two servers at once with no failed request (HAProxy is seen holding
// both out of rotation together, never all three), while a batch that would
// empty the pool is refused. Adds web-03 to the lab, and stops it again at the end.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { appVersion, onHost, tandem, tandemAsync, tandemJson } from './tandem.ts';
import { startLoad, steadyLoad } from './load.ts';
import { outOfRotation, streamBackendStatus } from './haproxy-stats.ts';
import { until } from './harness.ts';
import { prepareRelease } from '../../src/release/prepare.ts';
import { addressAfterFirst, labVariant, readInventory } from './variants.ts';

const address = (name: string) => readInventory().hosts.find((h) => h.name === name)!.address;
const WEB = { 'web-01': address('web-01'), 'web-02': address('web-02'), 'web-03': addressAfterFirst(2) } as const;
const LBS = [WEB['web-01'], WEB['web-02']];
const THREE = labVariant('three', (d) => {
  d.hosts['web-03'] = { address: WEB['web-03'], roles: ['web', 'app', 'db-replica'] };
});

/** Each server's version through its own Nginx, asked on the server: the firewall keeps :8080 from this machine. */
async function versionsServed(): Promise<string[]> {
  return Object.keys(WEB).map((name) => {
    const r = tandem(['lab', 'ssh', '-i', THREE, name, 'curl -sS http://127.0.0.1:8080/version']);
    if (r.code !== 0) throw new Error(`${name}: curl of its own Nginx exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  });
}

test.before(() => {
  for (const args of [['lab', 'up', '-i', THREE], ['lab', 'reset', '-i', THREE]]) {
    const r = tandem(args);
    assert.is(r.code, 0, r.stdout + r.stderr);
  }
});

test.after(() => {
  // Back to the two servers the other lab tests use.
  tandem(['lab', 'up', '--hosts', '2']);
});

test('deploy before any apply is refused, naming the servers, and uploads nothing', async () => {
  const r = await tandemAsync(['deploy', '-i', THREE]);
  assert.is(r.code, 1);
  assert.match(r.stdout + r.stderr, /web-01, web-02, web-03: no release installed yet; run `tandem apply` first/);
  assert.is(onHost('web-01', 'test -e /srv/app/releases').code, 1, 'nothing uploaded');
});

test('one apply on three pristine servers: verify passes, with both replicas carrying the canary', () => {
  const r = tandemJson(['apply', '-i', THREE]);
  assert.is(r.code, 0, r.stderr);
  console.log(`    fresh apply of three servers: ${r.ms} ms wall, ${r.json.summary.changed} changes`);
  const v = tandemJson(['verify', '-i', THREE]);
  assert.is(v.code, 0, JSON.stringify(v.json.checks.filter((c: any) => !c.ok)));
  const canaries = v.json.checks.filter((c: any) => c.check === 'a canary row written on the primary is read on the replica');
  assert.equal(canaries.map((c: any) => c.host).sort(), ['web-02', 'web-03']);
  const backends = v.json.checks.filter((c: any) => c.check === 'every backend is UP in HAProxy');
  for (const b of backends) assert.is(b.figure, '3/3 backends UP');
});

test('deploy --batch 3 would empty the pool: refused, nothing changes', async () => {
  const r = await tandemAsync(['deploy', '-i', THREE, '--batch', '3', '--source', appVersion('1.0.9')]);
  assert.is(r.code, 4, 'exit 4: a bad flag, refused before any server is touched');
  assert.match(r.stdout + r.stderr, /--batch 3 would take every web server out of rotation at once \(there are 3\); use at most 2/);
  assert.equal(await versionsServed(), ['1.0.0', '1.0.0', '1.0.0']);
});

/**
 * Watches each load balancer's HAProxy until stopped (one streaming ssh session each): which
 * servers each one had out of rotation (drained or in maintenance) at each sample.
 */
async function watchRotation(lbs: string[]) {
  const samples: { lb: string; out: string[] }[] = [];
  const streams = await Promise.all(
    lbs.map((lb) => streamBackendStatus(lb, (status) => samples.push({ lb, out: Object.keys(status).filter((s) => outOfRotation(status[s]!)).sort() }))),
  );
  // The first sample of each: the watch is running before the deploy starts.
  await until('a first HAProxy sample from every load balancer', async () => (lbs.every((lb) => samples.some((s) => s.lb === lb)) ? true : undefined));
  return {
    async stop() {
      await Promise.all(streams.map((s) => s.stop()));
      return samples;
    },
  };
}

test('deploy --batch 2 under load: two servers switched together, then the third; 0 failed requests', async () => {
  const source = appVersion('1.0.1');
  await prepareRelease(source);
  const watch = await watchRotation(['web-01', 'web-02']);
  const load = startLoad(LBS, { ratePerSecond: 80 });
  const r = await tandemAsync(['deploy', '-i', THREE, '--batch', '2', '--json', '--source', source]);
  const l = await load.stop();
  const samples = await watch.stop();
  assert.is(r.code, 0, r.stdout + r.stderr);
  const served = steadyLoad(l, 100); // the deploy of three servers lasts about 3 s on an idle lab machine
  // What HAProxy itself saw: web-01 and web-02 out of rotation together in a sample, web-03 out
  // later on its own, and never every server out at once.
  const seen = new Set(samples.map((s) => s.out.join('+')));
  assert.ok(seen.has('web-01+web-02'), `web-01 and web-02 drained together in HAProxy; seen out of rotation: ${[...seen].join(' | ')}`);
  assert.ok(seen.has('web-03'), `web-03 drained in HAProxy; seen: ${[...seen].join(' | ')}`);
  for (const combination of seen) {
    assert.ok(['', 'web-01', 'web-02', 'web-01+web-02', 'web-03'].includes(combination), `out of rotation at once: ${combination} (${samples.length} samples)`);
  }
  const report = JSON.parse(r.stdout);
  assert.equal(
    Object.fromEntries(Object.entries(report.servers).map(([h, s]: [string, any]) => [h, [s.status, s.batch]])),
    { 'web-01': ['updated', 1], 'web-02': ['updated', 1], 'web-03': ['updated', 2] },
  );
  assert.equal(await versionsServed(), ['1.0.1', '1.0.1', '1.0.1']);
  console.log(`    deploy --batch 2 of three servers: ${r.ms} ms wall, ${samples.length} HAProxy samples; load ${served}`);
});

test.run();
