// Deadlines of remote commands, without a server: a command that never answers fails its host
// with "no answer in N s"; the deadlines per kind and from the inventory. (The same with real
// local processes is in test/integration/local-deadlines.test.ts.)
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { CommandError, CommandTimeoutError } from '../../src/errors.ts';
import { deadlinesFor, DEFAULT_DEADLINES, execWithDeadline, expireAfter, killedByRemoteTimeout } from '../../src/ssh/deadline.ts';
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
