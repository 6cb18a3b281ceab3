// Lab settings from an inventory: the committed lab.yml, defaults, overrides, paths relative to
// the file, and clear errors for settings the lab cannot use.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { parseYaml, toInventory } from '../../src/inventory/load.ts';
import { labConfig, labConfigFromInventory, validateLabConfig, withHostCount, findHost, releaseOf, type LabConfig } from '../../src/lab/config.ts';
import { InputError, InventoryError, UsageError } from '../../src/errors.ts';

const FILE = '/repo/inventory/lab.yml';
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

type Doc = Record<string, unknown>;
const hosts2 = {
  'web-01': { address: '10.77.0.11', roles: ['lb', 'web', 'app', 'db-primary'] },
  'web-02': { address: '10.77.0.12', roles: ['lb', 'web', 'app', 'db-replica'] },
};
const doc = (extra: Doc = {}): Doc => ({
  name: 'lab',
  domain: 'www.foobar.test',
  ssh: { user: 'root', key: '../.lab/id_ed25519', known_hosts: 'lab.known_hosts' },
  lab: { bridge: 'tandem0', gateway: '10.77.0.1/24', cache: '/var/cache/tandem', state: '../.lab' },
  hosts: hosts2,
  ...extra,
});
const fromDoc = (d: Doc): LabConfig => labConfigFromInventory(toInventory(parseYaml(stringify(d), 'lab.yml'), FILE, 'lab.yml'));
const single = (address: string, name = 'a') => ({ [name]: { address, roles: ['lb', 'web', 'app', 'db-primary'] } });

/** Bad settings and flags are input errors (exit 4): InventoryError, or UsageError for a flag. */
function throwsInput(fn: () => unknown, re: RegExp, kind: abstract new (...args: never[]) => InputError = InventoryError): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, kind);
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable(`expected a ${kind.name}`);
}

test('the committed inventory/lab.yml: two hosts, settings, paths relative to the inventory folder', async () => {
  const c = await labConfig(path.join(repo, 'inventory/lab.yml'));
  assert.equal(c.hosts, [
    { name: 'web-01', address: '10.77.0.11' },
    { name: 'web-02', address: '10.77.0.12' },
  ]);
  assert.is(c.bridge, 'tandem0');
  assert.is(c.gateway, '10.77.0.1/24');
  assert.is(c.cacheDir, '/var/cache/tandem');
  assert.is(c.stateDir, path.join(repo, '.lab'));
  assert.is(c.keyPath, path.join(repo, '.lab/id_ed25519'));
  assert.is(c.knownHostsPath, path.join(repo, 'inventory/lab.known_hosts'));
  assert.is(c.sshUser, 'root');
  assert.is(c.release, 'trixie', 'the lab builds Debian 13 by default');
  assert.equal(c.hostReleases, {});
});

test('an inventory error keeps its kind and gains a hint that says what to do', async () => {
  try {
    await labConfig('/nonexistent/lab.yml');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, InventoryError);
    assert.match((err as Error).message, /file not found/);
    assert.match((err as InventoryError).hint ?? '', /-i/);
    assert.instance((err as Error).cause, InventoryError);
  }
});

test('defaults when the lab: section is missing', () => {
  const c = fromDoc({ ...doc(), lab: undefined });
  assert.is(c.bridge, 'tandem0');
  assert.is(c.gateway, '10.77.0.1/24');
  assert.is(c.cacheDir, '/var/cache/tandem');
  assert.is(c.stateDir, '/repo/inventory/.lab');
  assert.is(c.release, 'trixie');
});

test('settings are overridable', () => {
  const c = fromDoc(doc({ lab: { bridge: 'lab7', gateway: '10.88.5.1/24', cache: 'cache', state: '/tmp/st' }, hosts: single('10.88.5.9') }));
  assert.is(c.bridge, 'lab7');
  assert.is(c.gateway, '10.88.5.1/24');
  assert.is(c.cacheDir, '/repo/inventory/cache');
  assert.is(c.stateDir, '/tmp/st');
});

test('settings the lab cannot use are refused, naming the file and field', () => {
  throwsInput(() => fromDoc(doc({ hosts: single('192.168.1.5') })), /lab\.yml: hosts\.a\.address: 192\.168\.1\.5 is outside the lab subnet/);
  throwsInput(() => fromDoc(doc({ hosts: single('10.77.0.1') })), /outside the lab subnet/);
  throwsInput(() => fromDoc(doc({ hosts: single('10.77.0.255') })), /outside the lab subnet/);
  const ok = fromDoc(doc());
  throwsInput(() => validateLabConfig({ ...ok, hosts: [{ name: 'Web_1', address: '10.77.0.5' }] }), /not a valid host name/);
  throwsInput(() => validateLabConfig({ ...ok, hosts: [] }), /at least one host/);
  throwsInput(() => fromDoc(doc({ lab: { bridge: 'a-long-bridge' } })), /bridge name/);
  throwsInput(() => fromDoc(doc({ lab: { gateway: '10.77.0.1/31' } })), /lab\.gateway: .*prefix length/);
  throwsInput(() => fromDoc(doc({ lab: { state: '/tmp/a,b' } })), /comma, colon or space/);
});

test('--hosts N: fewer takes the first N; more adds web-03.. at .13..', () => {
  const c = fromDoc(doc());
  assert.equal(withHostCount(c, 1).hosts.map((h) => h.name), ['web-01']);
  assert.equal(withHostCount(c, 4).hosts, [
    { name: 'web-01', address: '10.77.0.11' },
    { name: 'web-02', address: '10.77.0.12' },
    { name: 'web-03', address: '10.77.0.13' },
    { name: 'web-04', address: '10.77.0.14' },
  ]);
  throwsInput(() => withHostCount(c, 0), /at least 1/, UsageError);
  throwsInput(() => withHostCount(c, 300), /outside 10\.77\.0\.1\/24/, UsageError);
});

test('lab.release for every server, lab.hosts.NAME.release for a mixed fleet', () => {
  const c = fromDoc(doc({ lab: { release: 'bookworm', hosts: { 'web-02': { release: 'trixie' } } } }));
  assert.is(c.release, 'bookworm');
  assert.is(releaseOf(c, 'web-01'), 'bookworm');
  assert.is(releaseOf(c, 'web-02'), 'trixie');
  assert.is(releaseOf(withHostCount(c, 3), 'web-03'), 'bookworm', 'extra hosts take lab.release');
  assert.is(releaseOf(fromDoc(doc()), 'web-02'), 'trixie');
});

test('an unknown release, or a release for a host the inventory lacks, is refused naming the field', () => {
  const problems = (d: Doc): string[] => {
    try {
      fromDoc(d);
    } catch (err) {
      if (err instanceof InventoryError) return err.problems;
      throw err;
    }
    return assert.unreachable('expected an inventory error') as never;
  };
  assert.equal(problems(doc({ lab: { release: 'buster' } })), ['lab.yml: lab.release: unknown release "buster" (the lab builds trixie or bookworm)']);
  assert.equal(problems(doc({ lab: { hosts: { 'web-02': { release: '13' } } } })), ['lab.yml: lab.hosts.web-02.release: unknown release "13" (the lab builds trixie or bookworm)']);
  assert.equal(problems(doc({ lab: { hosts: { 'web-09': { release: 'trixie' } } } })), ['lab.yml: lab.hosts.web-09: not a host of this inventory (hosts: web-01, web-02)']);
  assert.equal(problems(doc({ lab: { hosts: { 'web-02': { release: 'trixie', memory: 1 } } } })), ['lab.yml: lab.hosts.web-02: unknown field "memory"']);
});

test('findHost names the known hosts when asked for another', () => {
  const c = fromDoc(doc());
  assert.is(findHost(c, 'web-02').address, '10.77.0.12');
  throwsInput(() => findHost(c, 'db-9'), /no lab host named "db-9"/, UsageError);
});

test.run();
