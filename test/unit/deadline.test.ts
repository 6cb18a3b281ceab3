// Deadlines of remote commands, without a server: a command that never answers fails its host
// with "no answer in N s", the remote `timeout` kills what it started, the other hosts go on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommandError, CommandTimeoutError } from '../../src/errors.ts';
import { deadlinesFor, DEFAULT_DEADLINES, execWithDeadline, expireAfter, killedByRemoteTimeout } from '../../src/ssh/deadline.ts';
import { runCommand } from '../../src/engine/commands.ts';
import { run } from '../../src/engine/run.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import type { Op } from '../../src/engine/types.ts';
import { atomicPutScript } from '../../src/ssh/connection.ts';
import { LocalConnection, localHost, localOwner } from '../fixtures/local-connection.ts';
import { parseYaml, toInventory } from '../../src/inventory/load.ts';
import { InventoryError } from '../../src/errors.ts';

const never = <T>() => new Promise<T>(() => {});

test('expireAfter: a promise that never settles gives the deadline error', async () => {
  try {
    await expireAfter(never(), 10, () => new Error('too late'));
    assert.unreachable();
  } catch (err) {
    assert.is((err as Error).message, 'too late');
  }
  assert.is(await expireAfter(Promise.resolve(7), 1000, () => new Error('no')), 7, 'what settles in time passes through');
});

test('a server that never answers: the exec fails with the timeout error naming host, seconds and command, and the channel is given up', async () => {
  let abandoned = false;
  try {
    await execWithDeadline({ host: 'web-02', command: 'apt-get update', seconds: 0.05, graceSeconds: 0 }, (onAbandon) => {
      onAbandon(() => (abandoned = true));
      return never();
    });
    assert.unreachable();
  } catch (err) {
    assert.ok(err instanceof CommandTimeoutError);
    assert.ok(err instanceof CommandError, 'a timeout is a command failure of its own kind');
    assert.is(err.message, 'web-02: no answer in 0.05 s from `apt-get update`');
    assert.equal([err.host, err.command, err.exitCode, err.seconds], ['web-02', 'apt-get update', null, 0.05]);
  }
  assert.ok(abandoned);
});

const killedCases: Array<[string, number, number, boolean]> = [
  ['TERM from timeout once the time was up', 124, 20_050, true],
  ['KILL from timeout after its grace', 137, 23_010, true],
  ['a command that itself exits 124 early', 124, 300, false],
  ['an ordinary failure after the deadline', 1, 25_000, false],
];
for (const [name, exitCode, durationMs, expected] of killedCases) {
  test(`killedByRemoteTimeout: ${name}`, () => assert.is(killedByRemoteTimeout({ exitCode, durationMs }, 20), expected));
}

test('deadlines: the defaults per kind, or one number for every command when the user sets one', () => {
  assert.equal(deadlinesFor(undefined), DEFAULT_DEADLINES);
  assert.equal(DEFAULT_DEADLINES, { default: 60, long: 900 });
  assert.equal(deadlinesFor(20), { default: 20, long: 20 });
});

function running(pattern: string): boolean {
  return spawnSync('pgrep', ['-f', pattern]).status === 0;
}

test('a command past its deadline is killed where it runs, children included, and fails with "no answer"', async () => {
  const marker = `sleep 31.${process.pid}`;
  const conn = new LocalConnection(localHost('h1'), undefined, { default: 1, long: 1 });
  try {
    // The command starts a child and waits for it: both must go when the deadline passes.
    await runCommand(conn, { kind: 'script', script: `${marker} & wait`, describe: 'wait for a child' }, new Redactor([]));
    assert.unreachable();
  } catch (err) {
    assert.ok(err instanceof CommandTimeoutError, String(err));
    assert.is(err.message, 'h1: no answer in 1 s from `wait for a child`');
  }
  // Poll (bounded) for the child to be gone: the TERM went to its whole process group.
  for (let i = 0; i < 40 && running(marker); i++) await new Promise((r) => setTimeout(r, 50));
  assert.not.ok(running(marker), `${marker} is still running`);
});

test('engine: the host whose command misses its deadline fails with "no answer", the other host completes', async () => {
  const slow = localHost('slow');
  const fast = localHost('fast');
  const conns = { slow: new LocalConnection(slow, undefined, { default: 1, long: 1 }), fast: new LocalConnection(fast, undefined, { default: 1, long: 1 }) };
  const op = (script: string): Op => ({
    id: 'wait',
    facts: [],
    plan: () => ({ summary: 'run it', commands: [{ kind: 'script', script, describe: script }], invalidates: [] }),
  });
  const report = await run({
    mode: 'apply',
    hosts: [slow, fast],
    work: new Map([
      ['slow', [{ phase: 'base', ops: [op('sleep 20')] }]],
      ['fast', [{ phase: 'base', ops: [op('true')] }, { phase: 'app', ops: [op('true')] }]],
    ]),
    connect: async (h) => conns[h.name as 'slow' | 'fast'],
    redactor: new Redactor([]),
    emit: () => {},
  });
  assert.is(report.hosts.slow!.error, 'slow: wait: no answer in 1 s from `sleep 20`');
  assert.is(report.hosts.fast!.failed, 0);
  assert.is(report.hosts.fast!.changed, 2, 'the other host did its work in both phases');
});

test('a write stopped by its deadline leaves neither the file nor a temporary one', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-put-'));
  try {
    const target = path.join(dir, 'app.env');
    // Its own process group, stdin left open (a slow upload): then TERM to the group, as `timeout` sends it.
    const child = spawn('sh', ['-c', atomicPutScript(target, { mode: '0600', ...localOwner() }, path.join(dir, 'backup'))], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.write('PASSWORD=half of it');
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    for (let i = 0; i < 100 && readdirSync(dir).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(readdirSync(dir).filter((f) => f.startsWith('.tandem.')).length, 1, 'the write had begun');
    process.kill(-child.pid!, 'SIGTERM');
    assert.is.not(await exited, 0);
    assert.equal(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const inventoryWith = (ssh: string) => `name: t
domain: t.example.com
ssh: { key: k${ssh} }
hosts:
  a: { address: 10.0.0.1, roles: [lb, web, app, db-primary] }
`;

test('ssh.command_timeout: read at load into the inventory; unset, the defaults per kind apply', () => {
  const set = toInventory(parseYaml(inventoryWith(', command_timeout: 90'), 'i.yml'), '/x/i.yml', 'i.yml');
  assert.is(set.ssh.commandTimeoutSeconds, 90);
  assert.equal(deadlinesFor(set.ssh.commandTimeoutSeconds), { default: 90, long: 90 });
  const unset = toInventory(parseYaml(inventoryWith(''), 'i.yml'), '/x/i.yml', 'i.yml');
  assert.is(unset.ssh.commandTimeoutSeconds, undefined);
  assert.equal(deadlinesFor(unset.ssh.commandTimeoutSeconds), DEFAULT_DEADLINES);
});

const badTimeouts: Array<[string, string]> = [
  ['0', 'ssh.command_timeout: must be a number of seconds above 0'],
  ['-5', 'ssh.command_timeout: must be a number of seconds above 0'],
  ['1.5', 'ssh.command_timeout: must be a whole number of seconds'],
  ['"60"', 'ssh.command_timeout: must be a number of seconds'],
];
for (const [value, message] of badTimeouts) {
  test(`ssh.command_timeout: ${value} is refused, naming the field`, () => {
    try {
      parseYaml(inventoryWith(`, command_timeout: ${value}`), 'i.yml');
      assert.unreachable();
    } catch (err) {
      assert.ok(err instanceof InventoryError, String(err));
      assert.equal(err.problems, [`i.yml: ${message}`]);
    }
  });
}

test.run();
