// apt as a table: {packages, index state} -> the commands a user would see in the plan.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { apt, planApt, type AptArgs } from '../../src/ops/apt.ts';
import { parsePackages, type PackagesState } from '../../src/facts/apt.ts';
import { LOCK_WAIT_EXPIRED, withDpkgLockWait } from '../../src/ops/dpkg-lock.ts';
import { splitProgress } from '../../src/ssh/connection.ts';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeCommand } from '../../src/engine/commands.ts';
import { Redactor } from '../../src/secrets/secret.ts';

const state = (installed: string[], available: string[], indexAgeSeconds: number, dpkgInterrupted = false): PackagesState => ({
  installed: new Set(installed),
  available: new Set(available),
  indexAgeSeconds,
  dpkgInterrupted,
});

const ENV = 'env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a';
const WAIT = ' (after waiting up to 120 s for the dpkg lock)';
const UPDATE = `${ENV} apt-get -q update${WAIT}`;
const CONFIGURE = `${ENV} dpkg --force-confold --configure -a${WAIT}`;
const install = (...pkgs: string[]) => `${ENV} apt-get -q -y -o Dpkg::Options::=--force-confold --no-install-recommends install ${pkgs.join(' ')}${WAIT}`;

const ARGS: AptArgs = { packages: ['nginx', 'haproxy', 'curl'], cacheValidSeconds: 3600 };

const CASES: { name: string; args?: AptArgs; have: PackagesState; summary: string | null; commands?: string[] }[] = [
  {
    name: 'all installed: nothing, whatever the index age',
    have: state(['nginx', 'haproxy', 'curl'], [], Number.POSITIVE_INFINITY),
    summary: null,
  },
  {
    name: 'missing, fresh index that knows them: install only the missing ones',
    have: state(['curl'], ['nginx', 'haproxy'], 60),
    summary: 'install nginx, haproxy',
    commands: [install('nginx', 'haproxy')],
  },
  {
    name: 'missing, index older than cacheValidSeconds: update first',
    have: state(['curl'], ['nginx', 'haproxy'], 7200),
    summary: 'install nginx, haproxy (after refreshing the package index)',
    commands: [UPDATE, install('nginx', 'haproxy')],
  },
  {
    name: 'missing, index never refreshed: update first',
    have: state([], [], Number.POSITIVE_INFINITY),
    summary: 'install nginx, haproxy, curl (after refreshing the package index)',
    commands: [UPDATE, install('nginx', 'haproxy', 'curl')],
  },
  {
    name: 'missing package unknown to a fresh index: update first',
    have: state(['curl'], ['nginx'], 60),
    summary: 'install nginx, haproxy (after refreshing the package index)',
    commands: [UPDATE, install('nginx', 'haproxy')],
  },
  {
    name: 'index exactly cacheValidSeconds old is still fresh',
    have: state(['curl', 'nginx'], ['haproxy'], 3600),
    summary: 'install haproxy',
    commands: [install('haproxy')],
  },
  {
    name: 'lock timeout from the arguments',
    args: { packages: ['tzdata'], cacheValidSeconds: 3600, lockTimeoutSeconds: 30 },
    have: state([], ['tzdata'], 10),
    summary: 'install tzdata',
    commands: [`${ENV} apt-get -q -y -o Dpkg::Options::=--force-confold --no-install-recommends install tzdata (after waiting up to 30 s for the dpkg lock)`],
  },
  {
    name: 'dpkg interrupted (a crash mid-install), all installed: finish it, nothing else',
    have: state(['nginx', 'haproxy', 'curl'], [], 10, true),
    summary: 'finish the interrupted dpkg run (dpkg --configure -a)',
    commands: [CONFIGURE],
  },
  {
    name: 'dpkg interrupted and packages missing: finish it first, then install',
    have: state(['curl'], ['nginx', 'haproxy'], 10, true),
    summary: 'finish the interrupted dpkg run (dpkg --configure -a), then install nginx, haproxy',
    commands: [CONFIGURE, install('nginx', 'haproxy')],
  },
];

for (const c of CASES) {
  test(`planApt: ${c.name}`, () => {
    const got = planApt(c.args ?? ARGS, c.have);
    if (c.summary === null) return assert.is(got, null);
    assert.ok(got, 'expected a change');
    assert.is(got!.summary, c.summary);
    assert.equal(
      got!.commands.map((cmd) => describeCommand(cmd, new Redactor())),
      c.commands,
    );
    // Installing packages can change anything (users, files, services): every fact is stale.
    assert.is(got!.invalidates, 'all');
  });
}

test('planApt: every command runs noninteractive, waits for the dpkg lock (then gives apt the wait left) and keeps local config files', () => {
  const got = planApt(ARGS, state([], [], Number.POSITIVE_INFINITY, true))!;
  assert.is(got.commands.length, 3);
  for (const cmd of got.commands) {
    assert.is(cmd.kind, 'script');
    if (cmd.kind !== 'script') continue;
    const run = cmd.script.split('\n').at(-1)!;
    assert.match(run, /^exec env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a (apt-get|dpkg) /);
    if (run.includes('apt-get')) assert.match(run, /apt-get "-oDPkg::Lock::Timeout=\$left" -q /);
    assert.match(cmd.script, /^wait=120; /);
    assert.is(cmd.stdin, undefined);
    assert.is(cmd.deadline, 'long', 'downloads and installs get the long deadline');
  }
  assert.match(got.commands[2]!.kind === 'script' ? got.commands[2]!.script : '', /-y -o Dpkg::Options::=--force-confold --no-install-recommends install nginx haproxy curl$/);
});

test("packages fact: dpkg's journal of an interrupted run is read as dpkgInterrupted", () => {
  assert.is(parsePackages('pkg nginx install ok installed\nindex-age 5\n').dpkgInterrupted, false);
  assert.is(parsePackages('pkg nginx install ok unpacked\ndpkg-interrupted\n').dpkgInterrupted, true);
});

/** Hold an fcntl write lock on `file` (as dpkg and apt do) until the returned function is called. */
async function holdFcntlLock(file: string): Promise<{ pid: number; release(): void }> {
  const child = spawn('perl', ['-e', 'use Fcntl; open(my $f, ">>", $ARGV[0]) or die; my $s = pack("s s x4 q q i x4", F_WRLCK, 0, 0, 0, 0); fcntl($f, F_SETLKW, $s) or die; print "held\\n"; $| = 1; sleep 60', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
  });
  return { pid: child.pid!, release: () => child.kill('SIGKILL') };
}

test('dpkg lock wait: said while it lasts, naming the holder; ends with exit 75 after the wait; runs the command once the lock is free', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-dpkg-lock-'));
  const locks = [path.join(dir, 'lock-frontend'), path.join(dir, 'lock')];
  locks.forEach((f) => writeFileSync(f, ''));
  const script = withDpkgLockWait(['echo', 'installed'], 1, { locks });
  const holder = await holdFcntlLock(locks[1]!);
  try {
    const held = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    assert.is(held.status, LOCK_WAIT_EXPIRED);
    assert.is(held.stdout, '');
    const { progress, rest } = splitProgress(held.stderr);
    assert.match(progress[0]!, new RegExp(`^the dpkg lock is held by pid ${holder.pid} \\(perl -e use Fcntl;.*\\) \\(waited \\d+ s of 1\\)$`));
    assert.match(rest, new RegExp(`^the dpkg lock is still held after 1 s \\(apt.lock_wait\\) by pid ${holder.pid} \\(perl `));
  } finally {
    holder.release();
  }
  const free = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  assert.equal([free.status, free.stdout, free.stderr], [0, 'installed\n', '']);
});

test('apt(): one fact for the package list, id independent of the order given', () => {
  const a = apt({ packages: ['nginx', 'curl'], cacheValidSeconds: 3600 });
  const b = apt({ packages: ['curl', 'nginx'], cacheValidSeconds: 3600 });
  assert.is(a.id, 'apt curl nginx');
  assert.is(a.id, b.id);
  assert.equal(
    a.facts.map((f) => f.id),
    b.facts.map((f) => f.id),
  );
  assert.is(a.plan({ get: <T>() => state(['nginx', 'curl'], [], 5) as T }), null);
});

test.run();
