// The host's package set as a table: {packages, index state, policy-rc.d} -> the commands a user
// would see in the plan; then the hold script itself, run by a local sh around stand-in commands.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packages, POLICY_RC, POLICY_RC_MARK, withServicesHeld, type PackagesArgs } from '../../src/ops/packages.ts';
import type { PackagesState } from '../../src/facts/apt.ts';
import type { FileState } from '../../src/facts/file.ts';
import { describeCommand } from '../../src/engine/commands.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import type { Command } from '../../src/engine/types.ts';

const state = (installed: string[], available: string[], indexAgeSeconds: number): PackagesState => ({
  installed: new Set(installed),
  available: new Set(available),
  indexAgeSeconds,
});
const show = (cmd: Command) => describeCommand(cmd, new Redactor());

const ENV = 'env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a';
// Every apt command waits (out loud) for another process's dpkg lock, apt.lock_wait seconds (120 by default).
const LOCK_WAIT = '(after waiting up to 120 s for the dpkg lock)';
const UPDATE = `${ENV} apt-get -q update ${LOCK_WAIT}`;
const install = (...pkgs: string[]) =>
  `${ENV} apt-get -q -y -o Dpkg::Options::=--force-confold --no-install-recommends install ${pkgs.join(' ')} ${LOCK_WAIT}`;
const held = (...inner: string[]) => `with services held (/usr/sbin/policy-rc.d): ${inner.join('; ')}`;

const NONE: FileState = { exists: false };
const OURS: FileState = { exists: true, kind: 'file', content: `#!/bin/sh\n${POLICY_RC_MARK}; removed when the install ends.\nexit 101\n` };
const FOREIGN: FileState = { exists: true, kind: 'file', content: '#!/bin/sh\n# from the container image\nexit 101\n' };

const ARGS: PackagesArgs = { packages: ['mariadb-server', 'nginx', 'haproxy', 'curl'], cacheValidSeconds: 3600, holdServices: true };

const CASES: { name: string; args?: PackagesArgs; have: PackagesState; policyRc: FileState; summary: string | null; commands?: string[] }[] = [
  {
    name: 'all installed, no policy-rc.d: nothing',
    have: state(['mariadb-server', 'nginx', 'haproxy', 'curl'], [], Number.POSITIVE_INFINITY),
    policyRc: NONE,
    summary: null,
  },
  {
    name: 'fresh host, index never refreshed: one update and one install of every package, services held around both',
    have: state(['curl'], [], Number.POSITIVE_INFINITY),
    policyRc: NONE,
    summary: 'install mariadb-server, nginx, haproxy (after refreshing the package index), services held until configured',
    commands: [held(UPDATE, install('mariadb-server', 'nginx', 'haproxy'))],
  },
  {
    name: 'fresh index that knows them: the install alone, still one command',
    have: state([], ['mariadb-server', 'nginx', 'haproxy', 'curl'], 60),
    policyRc: NONE,
    summary: 'install mariadb-server, nginx, haproxy, curl, services held until configured',
    commands: [held(install('mariadb-server', 'nginx', 'haproxy', 'curl'))],
  },
  {
    name: 'holdServices off: the plain apt commands',
    args: { ...ARGS, holdServices: false },
    have: state(['curl'], [], Number.POSITIVE_INFINITY),
    policyRc: NONE,
    summary: 'install mariadb-server, nginx, haproxy (after refreshing the package index)',
    commands: [UPDATE, install('mariadb-server', 'nginx', 'haproxy')],
  },
  {
    name: 'all installed, but ours left by a killed install: remove it (it keeps every service from starting)',
    have: state(['mariadb-server', 'nginx', 'haproxy', 'curl'], [], 10),
    policyRc: OURS,
    summary: 'remove /usr/sbin/policy-rc.d left by an install that was interrupted (it keeps every service from starting)',
    commands: ['rm -f /usr/sbin/policy-rc.d'],
  },
  {
    name: 'all installed, another tool\'s policy-rc.d: not ours to remove',
    have: state(['mariadb-server', 'nginx', 'haproxy', 'curl'], [], 10),
    policyRc: FOREIGN,
    summary: null,
  },
  {
    name: 'missing packages and ours left by a killed install: the install replaces and then removes it',
    args: { ...ARGS, packages: ["nginx", "it's-quoted"] },
    have: state([], ['nginx', "it's-quoted"], 10),
    policyRc: OURS,
    summary: "install nginx, it's-quoted, services held until configured (replacing the /usr/sbin/policy-rc.d an interrupted install left)",
    commands: [held(install('nginx', `'it'\\''s-quoted'`))],
  },
];

for (const c of CASES) {
  test(`packages: ${c.name}`, () => {
    const op = packages(c.args ?? ARGS);
    const facts = new Map<string, unknown>([[op.facts[0]!.id, c.have], [`file:${POLICY_RC}`, c.policyRc]]);
    const got = op.plan({ get: <T>(f: { id: string }) => facts.get(f.id) as T });
    if (c.summary === null) return assert.is(got, null);
    assert.ok(got, 'expected a change');
    assert.is(got!.summary, c.summary);
    assert.equal(got!.commands.map(show), c.commands);
    for (const cmd of got!.commands) if (cmd.kind === 'script') assert.is(cmd.deadline, 'long', 'downloads and installs get the long deadline');
  });
}

test('packages(): one op, its id the sorted package list, reading the packages and policy-rc.d in the first batch', () => {
  const a = packages({ ...ARGS, packages: ['nginx', 'curl'] });
  const b = packages({ ...ARGS, packages: ['curl', 'nginx'] });
  assert.is(a.id, 'packages curl nginx');
  assert.is(a.id, b.id);
  assert.equal(a.facts.map((f) => f.id), ['apt:curl,nginx', `file:${POLICY_RC}`]);
  const facts = new Map<string, unknown>([[a.facts[0]!.id, state(['curl', 'nginx'], [], 5)], [a.facts[1]!.id, NONE]]);
  assert.is(a.plan({ get: <T>(f: { id: string }) => facts.get(f.id) as T }), null, 'a no-op run plans nothing');
});

// The hold script, run by the local sh with a policy-rc.d path in a temp folder and stand-in
// commands for apt-get: each stand-in asks the policy what invoke-rc.d would ask it.
const ASK = (p: string) => ({ kind: 'exec', argv: ['sh', '-c', `"$0" nginx start; echo "policy says $?"`, p] }) as Command;

function runHeld(inner: (p: string) => Command[], before?: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'tandem-held-'));
  const p = path.join(dir, 'policy-rc.d');
  if (before !== undefined) writeFileSync(p, before, { mode: 0o755 });
  const cmd = withServicesHeld(inner(p), p);
  assert.is(cmd.kind, 'script');
  const res = spawnSync('sh', ['-c', (cmd as Extract<Command, { kind: 'script' }>).script], { encoding: 'utf8' });
  const after = existsSync(p) ? readFileSync(p, 'utf8') : undefined;
  const leftovers = execFileSync('ls', ['-A', dir], { encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  return { code: res.status, stdout: res.stdout, after, leftovers };
}

const HOLD_CASES: { name: string; before?: string; inner: (p: string) => Command[]; code: number; stdout: string; after: string | undefined }[] = [
  { name: 'no policy-rc.d: services are refused (101) during the install, and the hold is gone after', inner: (p) => [ASK(p)], code: 0, stdout: 'policy says 101\n', after: undefined },
  {
    name: 'the install fails: its exit code is kept, and the hold is gone',
    inner: (p) => [ASK(p), { kind: 'exec', argv: ['sh', '-c', 'exit 100'] }, ASK(p)],
    code: 100,
    stdout: 'policy says 101\n',
    after: undefined,
  },
  {
    name: 'a script command (another apt step) runs inside the hold too',
    inner: (p) => [{ kind: 'script', script: `"${p}" mariadb start; echo "script: $?"`, describe: 'a step' }, ASK(p)],
    code: 0,
    stdout: 'script: 101\npolicy says 101\n',
    after: undefined,
  },
  { name: 'ours left by a killed install: reused, then removed', before: OURS.content, inner: (p) => [ASK(p)], code: 0, stdout: 'policy says 101\n', after: undefined },
  {
    name: "another tool's policy-rc.d: left in place and in force, byte for byte",
    before: '#!/bin/sh\nexit 0\n',
    inner: (p) => [ASK(p)],
    code: 0,
    stdout: 'policy says 0\n',
    after: '#!/bin/sh\nexit 0\n',
  },
];

for (const c of HOLD_CASES) {
  test(`withServicesHeld: ${c.name}`, () => {
    const got = runHeld(c.inner, c.before);
    assert.equal({ code: got.code, stdout: got.stdout, after: got.after }, { code: c.code, stdout: c.stdout, after: c.after });
    assert.is(got.leftovers, c.after === undefined ? '' : 'policy-rc.d\n', 'no temporary file left');
  });
}

test('withServicesHeld: refuses a command it cannot fold into one script (its own stdin or exit codes)', () => {
  assert.throws(() => withServicesHeld([{ kind: 'exec', argv: ['apt-get', 'install', 'x'], stdin: 'y' }]), /must run without stdin: apt-get install x < \(stdin\)/);
  assert.throws(() => withServicesHeld([{ kind: 'exec', argv: ['apt-get', 'check'], okExitCodes: [0, 100] }]), /must succeed with exit 0 alone: apt-get check/);
  assert.is(withServicesHeld([{ kind: 'exec', argv: ['true'], okExitCodes: [0] }]).kind, 'script');
});

test('withServicesHeld: TERM (the deadline) removes the hold', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tandem-held-'));
  const p = path.join(dir, 'policy-rc.d');
  const ready = path.join(dir, 'ready');
  const cmd = withServicesHeld([{ kind: 'exec', argv: ['sh', '-c', `touch "$0"; sleep 30`, ready] }], p) as Extract<Command, { kind: 'script' }>;
  const { spawn } = await import('node:child_process');
  const child = spawn('sh', ['-c', cmd.script], { detached: true, stdio: 'ignore' });
  for (let i = 0; i < 500 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(existsSync(p), 'the hold is in place while the install runs');
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  process.kill(-child.pid!, 'SIGTERM'); // as `timeout` does: the whole process group
  assert.is(await exited, 143);
  assert.not.ok(existsSync(p), 'the hold is gone');
  rmSync(dir, { recursive: true, force: true });
});

test.run();
