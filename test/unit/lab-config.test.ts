// Lab settings from an inventory: defaults, overrides, paths relative to the file, clear errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { labConfigFrom, withHostCount, findHost, type LabConfig } from '../../src/lab/config.ts';
import { LabError } from '../../src/lab/errors.ts';

const FILE = '/repo/inventory/lab.yml';
const doc = (extra: Record<string, unknown> = {}) => ({
  ssh: { user: 'root', key: '../.lab/id_ed25519', known_hosts: 'lab.known_hosts' },
  lab: { bridge: 'tandem0', gateway: '10.77.0.1/24', cache: '/var/cache/tandem', state: '../.lab' },
  hosts: { 'web-01': { address: '10.77.0.11', roles: ['lb'] }, 'web-02': { address: '10.77.0.12' } },
  ...extra,
});

function throwsLab(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, LabError);
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable('expected a LabError');
}

test('reads the committed lab inventory shape, paths relative to the inventory folder', () => {
  const c = labConfigFrom(doc(), FILE);
  assert.equal(c.hosts, [
    { name: 'web-01', address: '10.77.0.11' },
    { name: 'web-02', address: '10.77.0.12' },
  ]);
  assert.is(c.bridge, 'tandem0');
  assert.is(c.gateway, '10.77.0.1/24');
  assert.is(c.cacheDir, '/var/cache/tandem');
  assert.is(c.stateDir, '/repo/.lab');
  assert.is(c.keyPath, '/repo/.lab/id_ed25519');
  assert.is(c.knownHostsPath, '/repo/inventory/lab.known_hosts');
  assert.is(c.sshUser, 'root');
});

test('defaults when the lab: and ssh: sections are missing', () => {
  const c = labConfigFrom({ hosts: { a: { address: '10.77.0.20' } } }, FILE);
  assert.is(c.bridge, 'tandem0');
  assert.is(c.gateway, '10.77.0.1/24');
  assert.is(c.cacheDir, '/var/cache/tandem');
  assert.is(c.stateDir, '/repo/inventory/.lab');
});

test('settings are overridable', () => {
  const c = labConfigFrom(
    doc({ lab: { bridge: 'lab7', gateway: '10.88.5.1/24', cache: 'cache', state: '/tmp/st' }, hosts: { x: { address: '10.88.5.9' } } }),
    FILE,
  );
  assert.is(c.bridge, 'lab7');
  assert.is(c.cacheDir, '/repo/inventory/cache');
  assert.is(c.stateDir, '/tmp/st');
});

test('errors name the file and the field', () => {
  throwsLab(() => labConfigFrom({ hosts: { a: {} } }, FILE), /lab\.yml: hosts\.a\.address/);
  throwsLab(() => labConfigFrom(doc({ hosts: { a: { address: '192.168.1.5' } } }), FILE), /outside the lab subnet/);
  throwsLab(() => labConfigFrom(doc({ hosts: { a: { address: '10.77.0.1' } } }), FILE), /outside the lab subnet/);
  throwsLab(() => labConfigFrom(doc({ hosts: { a: { address: '10.77.0.255' } } }), FILE), /outside the lab subnet/);
  throwsLab(() => labConfigFrom(doc({ hosts: { a: { address: '10.77.0.5' }, b: { address: '10.77.0.5' } } }), FILE), /used twice/);
  throwsLab(() => labConfigFrom(doc({ hosts: { Web_1: { address: '10.77.0.5' } } }), FILE), /not a valid host name/);
  throwsLab(() => labConfigFrom(doc({ lab: { bridge: 'a-very-long-bridge' } }), FILE), /bridge name/);
  throwsLab(() => labConfigFrom(doc({ lab: { gateway: '10.77.0.1' } }), FILE), /prefix length/);
  throwsLab(() => labConfigFrom(doc({ lab: { state: '/tmp/a b' } }), FILE), /comma, colon or space/);
  throwsLab(() => labConfigFrom(doc({ hosts: {} }), FILE), /at least one host/);
});

test('--hosts N: fewer takes the first N; more adds web-03.. at .13..', () => {
  const c: LabConfig = labConfigFrom(doc(), FILE);
  assert.equal(withHostCount(c, 1).hosts.map((h) => h.name), ['web-01']);
  assert.equal(withHostCount(c, 4).hosts, [
    { name: 'web-01', address: '10.77.0.11' },
    { name: 'web-02', address: '10.77.0.12' },
    { name: 'web-03', address: '10.77.0.13' },
    { name: 'web-04', address: '10.77.0.14' },
  ]);
  throwsLab(() => withHostCount(c, 0), /at least 1/);
  throwsLab(() => withHostCount(c, 300), /outside 10\.77\.0\.1\/24/);
});

test('findHost names the known hosts when asked for another', () => {
  const c = labConfigFrom(doc(), FILE);
  assert.is(findHost(c, 'web-02').address, '10.77.0.12');
  throwsLab(() => findHost(c, 'db-9'), /no lab host named "db-9"/);
});

test.run();
