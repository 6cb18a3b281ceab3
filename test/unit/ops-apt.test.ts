// apt as a table: {packages, index state} -> the commands a user would see in the plan.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { apt, planApt, type AptArgs } from '../../src/ops/apt.ts';
import type { PackagesState } from '../../src/facts/apt.ts';
import { describeCommand } from '../../src/engine/commands.ts';
import { Redactor } from '../../src/secrets/secret.ts';

const state = (installed: string[], available: string[], indexAgeSeconds: number): PackagesState => ({
  installed: new Set(installed),
  available: new Set(available),
  indexAgeSeconds,
});

const ENV = 'env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a';
const UPDATE = `${ENV} apt-get -oDPkg::Lock::Timeout=300 -q update`;
const install = (...pkgs: string[]) =>
  `${ENV} apt-get -oDPkg::Lock::Timeout=300 -q -y -o Dpkg::Options::=--force-confold --no-install-recommends install ${pkgs.join(' ')}`;

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
    commands: [`${ENV} apt-get -oDPkg::Lock::Timeout=30 -q -y -o Dpkg::Options::=--force-confold --no-install-recommends install tzdata`],
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

test('planApt: every apt-get runs noninteractive, waits for the dpkg lock and keeps local config files', () => {
  const got = planApt(ARGS, state([], [], Number.POSITIVE_INFINITY))!;
  assert.is(got.commands.length, 2);
  for (const cmd of got.commands) {
    assert.is(cmd.kind, 'exec');
    if (cmd.kind !== 'exec') continue;
    assert.equal(cmd.argv.slice(0, 3), ['env', 'DEBIAN_FRONTEND=noninteractive', 'NEEDRESTART_MODE=a']);
    assert.ok(cmd.argv.includes('-oDPkg::Lock::Timeout=300'), cmd.argv.join(' '));
    assert.is(cmd.stdin, undefined);
    assert.is(cmd.deadline, 'long', 'downloads and installs get the long deadline');
  }
  const installCmd = got.commands[1]!;
  assert.ok(installCmd.kind === 'exec' && installCmd.argv.includes('-y') && installCmd.argv.includes('Dpkg::Options::=--force-confold'));
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
