// The steps of a rolling deploy and their order, driven against a fake fleet (no server): drain,
// switch, health check, re-enable; a failed health check rolls back; failed lock releases and
// failed roll backs are reported, never dropped.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import { drain, healthCheck, lock, lockInfo, unlock, type DeployContext, type DeployEvent } from '../../src/deploy/steps.ts';
import { DeployError, rollingDeploy, type DeployInput } from '../../src/deploy/rolling.ts';
import { FakeFleet } from '../fixtures/fake-fleet.ts';

const HOSTS: HostSpec[] = [
  { name: 'web-01', address: '10.0.0.11', port: 22, roles: ['lb', 'web', 'app', 'db-primary'] },
  { name: 'web-02', address: '10.0.0.12', port: 22, roles: ['lb', 'web', 'app', 'db-replica'] },
];
const OLD = '1.0.0-aaa';
const NEW = '1.0.1-bbb';

const inventory = { hosts: HOSTS, app: { keepReleases: 5 } } as unknown as Inventory;
const tarball = path.join(mkdtempSync(path.join(os.tmpdir(), 'tandem-deploy-')), 'release.tgz');
writeFileSync(tarball, 'not really a tarball: the fake fleet only looks at the commands');

function fleet(): FakeFleet {
  const f = new FakeFleet(HOSTS, { releases: [OLD, '0.9.0-zzz'], current: OLD, previous: '0.9.0-zzz' });
  f.incoming = [NEW];
  return f;
}

/** The context rollingDeploy would make, on the fake fleet's connections. */
async function ready(f: FakeFleet, events: DeployEvent[] = []): Promise<DeployContext> {
  const conns = new Map(await Promise.all(HOSTS.map(async (h) => [h.name, await f.connect(h)] as const)));
  return {
    conn: (h) => conns.get(h.name)!,
    redactor: new Redactor([]),
    emit: (e) => events.push(e),
    warn: (message) => events.push({ type: 'warn', message }),
    lbs: HOSTS,
    webNames: new Set(HOSTS.map((h) => h.name)),
    drainTimeoutMs: 5000,
    healthTimeoutMs: 0,
    upTimeoutMs: 5000,
    pollMs: 0,
  };
}

function deployInput(f: FakeFleet, events: DeployEvent[], extra: Partial<DeployInput> = {}): DeployInput {
  return {
    inventory,
    hosts: HOSTS,
    connect: f.connect,
    redactor: new Redactor([]),
    emit: (e) => events.push(e),
    target: { kind: 'release', release: { id: NEW, version: '1.0.1', tarball } },
    healthTimeoutMs: 0,
    pollMs: 0,
    ...extra,
  };
}

test('drain: the server is drained in every load balancer, then polled until nothing is in flight', async () => {
  const f = fleet();
  f.server('web-01').drainPolls = 2;
  const ctx = await ready(f);
  await drain(ctx, HOSTS[1]!);
  for (const lb of ['web-01', 'web-02']) assert.is(f.server(lb).haproxy.get('web-02')!.state, 'drain');
  const polls = f.on('web-01').filter((c) => c === "read HAProxy's stats").length;
  assert.is(polls, 3, 'polled until web-01 saw no session in flight on web-02');
});

test('health check: a release that answers 500 fails the server, with the answer in the message', async () => {
  const f = fleet();
  f.server('web-02').healthy = () => false;
  const ctx = await ready(f);
  try {
    await healthCheck(ctx, HOSTS[1]!);
    assert.unreachable();
  } catch (err) {
    assert.is((err as Error).message, 'web-02: /healthz failed after the switch: HTTP 500: {"status":"failing"}');
  }
});

test('lock: a live lock on one server refuses the deploy and gives back the locks already taken', async () => {
  const f = fleet();
  const theirs = JSON.stringify(lockInfo(new Date(), 60_000));
  f.server('web-02').lock = theirs;
  const ctx = await ready(f);
  try {
    await lock(ctx, HOSTS, lockInfo(new Date(), 60_000), () => new Date(), false);
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /^web-02: another deploy holds the lock/);
  }
  assert.is(f.server('web-01').lock, undefined, 'web-01 was given back');
  assert.is(f.server('web-02').lock, theirs, 'the other deploy keeps its lock');
});

test('unlock: a lock that cannot be released is a warning saying until when it stays', async () => {
  const f = fleet();
  f.server('web-01').failLockRelease = true;
  const events: DeployEvent[] = [];
  const ctx = await ready(f, events);
  const info = lockInfo(new Date('2026-01-01T00:00:00Z'), 30 * 60_000);
  const held = await lock(ctx, HOSTS, info, () => new Date('2026-01-01T00:00:00Z'), false);
  await unlock(ctx, HOSTS, held);
  assert.is(f.server('web-02').lock, undefined);
  assert.equal(events, [
    {
      type: 'warn',
      message:
        'web-01: could not release the deploy lock (`release the deploy lock` exited with 1: rm: cannot remove /var/lib/tandem/deploy.lock: Read-only file system); it stays until 2026-01-01T00:30:00.000Z, or until a deploy with --force-unlock',
    },
  ]);
});

test('rollingDeploy: lock, upload, then per server drain, switch, restart, health, back UP; prune; unlock', async () => {
  const f = fleet();
  const events: DeployEvent[] = [];
  const report = await rollingDeploy(deployInput(f, events));
  assert.ok(report.ok, report.error);
  assert.equal(report.warnings, []);
  for (const h of ['web-01', 'web-02']) {
    assert.equal([f.server(h).current, f.server(h).previous, f.server(h).running, f.server(h).lock], [NEW, OLD, NEW, undefined]);
    assert.is(report.servers[h]!.status, 'updated');
  }
  assert.equal(f.on('web-02'), [
    'take the deploy lock',
    'list the releases',
    `upload release ${NEW}`,
    // web-01 goes first: web-02 only sees it in its HAProxy.
    'set web-01 to drain in HAProxy',
    "read HAProxy's stats",
    'set web-01 to ready in HAProxy',
    "read HAProxy's stats",
    // Then web-02 itself.
    'set web-02 to drain in HAProxy',
    "read HAProxy's stats",
    `switch current to ${NEW}`,
    'systemctl restart tandem-app',
    'curl -sS --max-time 2 -w \'\n%{http_code}\' http://127.0.0.1:8080/healthz',
    'set web-02 to ready in HAProxy',
    "read HAProxy's stats",
    'list the releases',
    'release the deploy lock',
  ]);
  const steps = events.filter((e) => e.type === 'server:step' && e.host === 'web-01').map((e) => (e as { step: string }).step);
  assert.equal(steps, [
    `upload release ${NEW}`,
    'drain in every load balancer',
    'wait for in-flight requests',
    `switch current to ${NEW}`,
    'restart the app',
    'wait for /healthz through Nginx',
    'back in rotation',
  ]);
});

test('rollingDeploy: web-02 fails its health check: it goes back, web-01 is rolled back, the release is removed, the lock released', async () => {
  const f = fleet();
  f.server('web-02').healthy = (r) => r !== NEW;
  const events: DeployEvent[] = [];
  const report = await rollingDeploy(deployInput(f, events));
  assert.not.ok(report.ok);
  assert.is(report.error, 'web-02: /healthz failed after the switch: HTTP 500: {"status":"failing"}');
  for (const h of ['web-01', 'web-02']) {
    const s = f.server(h);
    assert.equal([s.current, s.previous, s.running, s.lock], [OLD, '0.9.0-zzz', OLD, undefined], h);
    assert.not.ok(s.releases.includes(NEW), `${h}: the failed release is removed`);
    for (const [server, v] of s.haproxy) assert.is(v.state, 'ready', `${server} is back in ${h}'s HAProxy`);
  }
  assert.equal([report.servers['web-01']!.status, report.servers['web-02']!.status], ['rolled back', 'failed']);
  assert.equal(report.warnings, []);
});

test('rollingDeploy: a server that cannot go back is a warning naming it and what to run, and the lock still goes', async () => {
  const f = fleet();
  // The new release fails on web-02, and so does the old one once web-02 restarts: it cannot go back.
  f.server('web-02').healthy = () => false;
  const report = await rollingDeploy(deployInput(f, []));
  assert.not.ok(report.ok);
  assert.equal(report.warnings, [
    `web-02: could not go back to ${OLD}: web-02: /healthz failed after the switch: HTTP 500: {"status":"failing"}; put it back with \`tandem rollback --to ${OLD}\``,
  ]);
  assert.is(report.servers['web-02']!.status, 'failed');
  assert.is(f.server('web-01').current, OLD, 'web-01 was rolled back all the same');
  assert.equal([f.server('web-01').lock, f.server('web-02').lock], [undefined, undefined]);
});

test('rollingDeploy: a lock left behind on success is in the report and the events', async () => {
  const f = fleet();
  f.server('web-02').failLockRelease = true;
  const events: DeployEvent[] = [];
  const report = await rollingDeploy(deployInput(f, events));
  assert.ok(report.ok, report.error);
  assert.is(report.warnings.length, 1);
  assert.match(report.warnings[0]!, /^web-02: could not release the deploy lock \(`release the deploy lock` exited with 1: rm: cannot remove/);
  assert.ok(events.some((e) => e.type === 'warn' && e.message === report.warnings[0]));
});

/** Every server's [current, previous, running, lock], and whether the lock is gone everywhere. */
const where = (f: FakeFleet) => HOSTS.map((h) => [f.server(h.name).current, f.server(h.name).previous, f.server(h.name).running]);
const locks = (f: FakeFleet) => HOSTS.map((h) => f.server(h.name).lock);

test('rollback (previous): every server goes back to the release before, nothing uploaded, and `previous` points at the one left', async () => {
  const f = fleet();
  const report = await rollingDeploy(deployInput(f, [], { target: { kind: 'previous' } }));
  assert.ok(report.ok, report.error);
  assert.is(report.release, '0.9.0-zzz');
  assert.equal(where(f), [['0.9.0-zzz', OLD, '0.9.0-zzz'], ['0.9.0-zzz', OLD, '0.9.0-zzz']]);
  assert.equal(locks(f), [undefined, undefined]);
  for (const h of ['web-01', 'web-02']) {
    assert.equal(report.servers[h], { from: OLD, to: '0.9.0-zzz', status: 'updated', outOfRotationMs: report.servers[h]!.outOfRotationMs, batch: h === 'web-01' ? 1 : 2 });
    assert.not.ok(f.on(h).some((c) => c.startsWith('upload')), `${h}: a rollback uploads nothing`);
    assert.equal(f.server(h).releases, [OLD, '0.9.0-zzz'], `${h}: both releases kept`);
  }
  // A second rollback goes back where the first came from.
  const again = await rollingDeploy(deployInput(f, [], { target: { kind: 'previous' } }));
  assert.is(again.release, OLD);
  assert.equal(where(f), [[OLD, '0.9.0-zzz', OLD], [OLD, '0.9.0-zzz', OLD]]);
});

test('rollback --to ID: that release on every server; one already on it is left unchanged', async () => {
  const f = new FakeFleet(HOSTS, { releases: ['1.0.2-ccc', OLD, '0.9.0-zzz'], current: '1.0.2-ccc', previous: OLD });
  f.server('web-02').current = '0.9.0-zzz';
  f.server('web-02').running = '0.9.0-zzz';
  const report = await rollingDeploy(deployInput(f, [], { target: { kind: 'named', id: '0.9.0-zzz' } }));
  assert.ok(report.ok, report.error);
  assert.equal([report.servers['web-01']!.status, report.servers['web-02']!.status], ['updated', 'unchanged']);
  assert.equal(where(f), [['0.9.0-zzz', '1.0.2-ccc', '0.9.0-zzz'], ['0.9.0-zzz', OLD, '0.9.0-zzz']]);
  assert.not.ok(f.on('web-02').some((c) => c.startsWith('switch')), 'web-02 was not touched');
});

test('rollback refusals: a release missing on one server, servers disagreeing on previous, no release before: named, nothing switched, lock released', async () => {
  const cases: Array<[string, (f: FakeFleet) => void, Parameters<typeof deployInput>[2], string]> = [
    ['missing', (f) => { f.server('web-02').releases = [OLD]; }, { target: { kind: 'named', id: '0.9.0-zzz' } }, 'web-02: release 0.9.0-zzz is not on this server'],
    ['disagree', (f) => { f.server('web-02').releases.push('0.8.0-yyy'); f.server('web-02').previous = '0.8.0-yyy'; }, { target: { kind: 'previous' } },
      'the servers disagree on the previous release (0.9.0-zzz, 0.8.0-yyy); name one with --to'],
    ['none before', (f) => { f.server('web-01').releases = [OLD]; f.server('web-01').previous = undefined; }, { target: { kind: 'previous' } },
      `web-01: there is no release before ${OLD} to roll back to`],
  ];
  for (const [name, setUp, extra, error] of cases) {
    const f = fleet();
    setUp(f);
    const report = await rollingDeploy(deployInput(f, [], extra));
    assert.not.ok(report.ok, name);
    assert.is(report.error, error, name);
    assert.equal(where(f), [[OLD, f.server('web-01').previous, OLD], [OLD, f.server('web-02').previous, OLD]], name);
    assert.not.ok(f.calls.some((c) => c.what.startsWith('switch') || c.what.includes('drain')), `${name}: nothing switched or drained`);
    assert.equal(locks(f), [undefined, undefined], name);
  }
});

test('rollingDeploy: a deploy holding the lock refuses this one, naming the holder; nothing is uploaded and its lock stays', async () => {
  const f = fleet();
  const theirs = JSON.stringify({ holder: 'ci@build-7 (pid 4242)', since: '2026-01-01T00:00:00.000Z', until: '2026-01-01T00:30:00.000Z' });
  f.server('web-02').lock = theirs;
  const now = () => new Date('2026-01-01T00:10:00Z');
  try {
    await rollingDeploy(deployInput(f, [], { now }));
    assert.unreachable('the deploy went on');
  } catch (err) {
    assert.instance(err, DeployError);
    assert.match((err as Error).message, /^web-02: another deploy holds the lock: ci@build-7 \(pid 4242\) since 2026-01-01T00:00:00\.000Z \(expires 2026-01-01T00:30:00\.000Z\)/);
  }
  assert.equal(locks(f), [undefined, theirs], 'ours on web-01 given back, theirs kept');
  assert.not.ok(f.calls.some((c) => c.what.startsWith('upload') || c.what.startsWith('switch')));
});

test('rollingDeploy: an expired lock is taken over with a warning naming its holder, and the deploy goes on', async () => {
  const f = fleet();
  f.server('web-01').lock = JSON.stringify({ holder: 'ci@build-6 (pid 17)', since: '2026-01-01T00:00:00.000Z', until: '2026-01-01T00:30:00.000Z' });
  const events: DeployEvent[] = [];
  const report = await rollingDeploy(deployInput(f, events, { now: () => new Date('2026-01-01T01:00:00Z') }));
  assert.ok(report.ok, report.error);
  assert.equal(report.warnings, ['web-01: taking over an expired deploy lock: ci@build-6 (pid 17) since 2026-01-01T00:00:00.000Z (expires 2026-01-01T00:30:00.000Z)']);
  assert.ok(events.some((e) => e.type === 'warn' && e.message === report.warnings[0]));
  assert.equal(f.on('web-01').slice(0, 2), ['take the deploy lock', 'take over the deploy lock']);
  assert.equal(locks(f), [undefined, undefined], 'released at the end like our own');
  assert.equal(where(f).map((w) => w[0]), [NEW, NEW]);
});

test('rollingDeploy: Ctrl-C while web-01 restarts: web-01 finishes, then goes back; web-02 is never touched; the upload is removed, the lock released', async () => {
  const f = fleet();
  const ctrlC = new AbortController();
  f.afterCall = (c) => {
    if (c.host === 'web-01' && c.what === 'systemctl restart tandem-app') ctrlC.abort();
  };
  const events: DeployEvent[] = [];
  const report = await rollingDeploy(deployInput(f, events, { signal: ctrlC.signal }));
  assert.not.ok(report.ok);
  assert.is(report.interrupted, true);
  assert.is(report.error, 'interrupted: web-01 went back to the release they ran');
  assert.equal(where(f), [[OLD, '0.9.0-zzz', OLD], [OLD, '0.9.0-zzz', OLD]]);
  assert.equal(locks(f), [undefined, undefined]);
  for (const h of ['web-01', 'web-02']) {
    assert.not.ok(f.server(h).releases.includes(NEW), `${h}: the interrupted release is removed`);
    for (const [server, v] of f.server(h).haproxy) assert.is(v.state, 'ready', `${server} is back in ${h}'s HAProxy`);
  }
  assert.equal(report.servers['web-01']!.status, 'rolled back');
  assert.is(report.servers['web-02'], undefined, 'web-02 was not switched');
  assert.not.ok(f.on('web-02').some((c) => c.startsWith('switch')));
});

test.run();
