// Inventory loading: a good file gets its defaults and absolute paths; every bad file is refused
// with `<file>: <field path>: <reason>`, before anything talks to a host.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { limitHosts, loadInventory, shownPath, type LoadOptions } from '../../src/inventory/load.ts';
import { InventoryError, UsageError } from '../../src/errors.ts';
import { testPrivateKey } from '../fixtures/keys.ts';
import { isAptProxyUrl, timeZoneProblem } from '../../src/inventory/schema.ts';
import { reservedAccount, reservedSchema } from '../../src/inventory/reserved.ts';
import { database_ } from '../../recipes/database.ts';
import { Secret } from '../../src/secrets/secret.ts';
import type { Secrets } from '../../src/secrets/store.ts';

let dir = '';

test.before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-inventory-'));
  fs.mkdirSync(path.join(dir, 'keys'));
  fs.writeFileSync(path.join(dir, 'keys', 'id_test'), testPrivateKey(), { mode: 0o600 });
});

test.after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Write `yaml` as `<name>.yml` in the temp dir; returns its path and the name the CLI shows for it. */
function write(name: string, yaml: string): { file: string; shown: string } {
  const file = path.join(dir, `${name}.yml`);
  fs.writeFileSync(file, yaml);
  return { file, shown: shownPath(file) };
}

/** Load a file that must be refused; returns the problems of the InventoryError. */
async function problems(file: string, opts?: LoadOptions): Promise<string[]> {
  try {
    await loadInventory(file, opts);
  } catch (err) {
    assert.instance(err, InventoryError, `expected an InventoryError, got ${String(err)}`);
    return (err as InventoryError).problems;
  }
  assert.unreachable(`${file} loaded but should have been refused`);
  return [];
}

const HEAD = `name: foobar
domain: www.foobar.com
ssh: { user: root, key: keys/id_test }
hosts:
`;

/** A valid two-server inventory with the given host lines (each `  name: {...}`). */
const inv = (hosts: string, extra = '') => HEAD + hosts + extra;

const TWO = `  web-01: { address: 203.0.113.11, roles: [lb, web, app, db-primary] }
  web-02: { address: 203.0.113.12, roles: [lb, web, app, db-replica] }
`;

test('a valid inventory loads with its defaults and absolute paths', async () => {
  const { file } = write(
    'prod',
    inv(`  web-01: { address: 203.0.113.11, roles: [lb, web, app, db-primary, web] }
  web-02: { address: db2.example.net, port: 2222, roles: [lb, web, app, db-replica] }
`, 'firewall: { enabled: false }\n'),
  );
  const got = await loadInventory(file);
  assert.is(got.file, file);
  assert.is(got.name, 'foobar');
  assert.is(got.domain, 'www.foobar.com');
  assert.equal(got.ssh, {
    user: 'root',
    key: path.join(dir, 'keys', 'id_test'),
    knownHosts: path.join(dir, 'prod.known_hosts'),
    connectTimeoutMs: 10_000,
  });
  assert.equal(got.hosts, [
    // A role named twice counts once.
    { name: 'web-01', address: '203.0.113.11', port: 22, roles: ['lb', 'web', 'app', 'db-primary'] },
    { name: 'web-02', address: 'db2.example.net', port: 2222, roles: ['lb', 'web', 'app', 'db-replica'] },
  ]);
  assert.equal(got.lb, { algorithm: 'roundrobin', mode: 'active-active' });
  assert.is(got.app.port, 3000);
  assert.is(got.app.keepReleases, 5);
  assert.ok(path.isAbsolute(got.app.source), got.app.source);
  assert.is(got.app.entry, 'src/server.js');
  assert.is(got.db.name, 'app');
  assert.is(got.db.user, 'app');
  assert.is(got.db.maxReplicaLagSeconds, 10);
  assert.equal(got.apt, { proxy: undefined, cacheValidSeconds: 3600, lockWaitSeconds: 120 });
  assert.is(got.timezone, 'Etc/UTC');
  assert.is(got.secretsFile, path.join(dir, 'prod.secrets.yml'));
  assert.is(got.lab, undefined);
});

test('explicit settings override the defaults; relative paths are relative to the inventory, ~ to home', async () => {
  const { file } = write(
    'custom',
    `name: shop
domain: shop.example.com
ssh: { user: deploy, key: ~/.ssh/tandem_test_key, port: 2200, known_hosts: pins/hosts, connect_timeout: 3 }
hosts:
  a: { address: 10.0.0.1, roles: [lb, web, app, db-primary] }
  b: { address: 10.0.0.2, port: 22, roles: [lb, web, db-replica] }
lb: { algorithm: leastconn, mode: active-passive, vip: 10.0.0.10/24, interface: ens3, router_id: 7 }
app: { source: ../app, port: 8000, keep_releases: 3, entry: dist/main.js }
db: { name: shop, user: shop_rw }
apt: { proxy: "http://10.0.0.9:3142", cache_valid: 60, lock_wait: 30 }
timezone: Europe/Paris
secrets: private/secrets.yml
`,
  );
  // The key is under ~ and need not exist for this check.
  const got = await loadInventory(file, { requireKey: false });
  assert.equal(got.ssh, {
    user: 'deploy',
    key: path.join(os.homedir(), '.ssh', 'tandem_test_key'),
    knownHosts: path.join(dir, 'pins', 'hosts'),
    connectTimeoutMs: 3000,
  });
  assert.equal(
    got.hosts.map((h) => [h.name, h.port]),
    [
      ['a', 2200],
      ['b', 22],
    ],
  );
  assert.equal(got.lb, { algorithm: 'leastconn', mode: 'active-passive', failover: { vip: '10.0.0.10', prefix: 24, interface: 'ens3', routerId: 7 } });
  assert.equal(got.app, { source: path.resolve(dir, '../app'), port: 8000, keepReleases: 3, entry: 'dist/main.js' });
  assert.is(got.db.name, 'shop');
  assert.is(got.db.user, 'shop_rw');
  assert.equal(got.apt, { proxy: 'http://10.0.0.9:3142', cacheValidSeconds: 60, lockWaitSeconds: 30 });
  assert.is(got.timezone, 'Europe/Paris');
  assert.is(got.secretsFile, path.join(dir, 'private', 'secrets.yml'));
});

// Each bad inventory and the exact problems the user is shown (after `<file>: `).
const BAD: { name: string; yaml: string; expected: string[]; opts?: LoadOptions }[] = [
  {
    name: 'unknown role',
    yaml: inv(`  web-01: { address: 203.0.113.11, roles: [lb, web, app, db-primary] }
  web-02: { address: 203.0.113.12, roles: [web, dbprimary] }
`),
    expected: ['hosts.web-02.roles[1]: unknown role "dbprimary" (expected one of lb, web, app, db-primary, db-replica, monitor)'],
  },
  {
    name: 'two db-primary',
    yaml: inv(`  web-01: { address: 203.0.113.11, roles: [lb, web, app, db-primary] }
  web-02: { address: 203.0.113.12, roles: [lb, web, app, db-primary] }
`),
    expected: ['hosts: exactly one host must have the role db-primary (found 2: web-01, web-02)'],
  },
  {
    name: 'no db-primary',
    yaml: inv(`  web-01: { address: 203.0.113.11, roles: [lb, web, app] }
  web-02: { address: 203.0.113.12, roles: [lb, web, app, db-replica] }
`),
    expected: ['hosts: exactly one host must have the role db-primary (found 0)'],
  },
  {
    name: 'no lb',
    yaml: inv(`  web-01: { address: 203.0.113.11, roles: [web, app, db-primary] }
  web-02: { address: 203.0.113.12, roles: [web, app, db-replica] }
`),
    expected: ['hosts: at least one host must have the role lb'],
  },
  {
    name: 'no web',
    yaml: inv(`  web-01: { address: 203.0.113.11, roles: [lb, app, db-primary] }
  web-02: { address: 203.0.113.12, roles: [lb, app, db-replica] }
`),
    expected: ['hosts: at least one host must have the role web'],
  },
  {
    name: 'no lb and no web: every problem at once',
    yaml: inv(`  web-01: { address: 203.0.113.11, roles: [app, db-primary] }
`),
    expected: ['hosts: at least one host must have the role lb', 'hosts: at least one host must have the role web'],
  },
  {
    name: 'duplicate address',
    yaml: inv(`  web-01: { address: 203.0.113.11, roles: [lb, web, app, db-primary] }
  web-02: { address: 203.0.113.11, roles: [lb, web, app, db-replica] }
`),
    expected: ['hosts.web-02.address: 203.0.113.11 is already the address of web-01'],
  },
  {
    name: 'a host both db-primary and db-replica',
    yaml: inv(`  web-01: { address: 203.0.113.11, roles: [lb, web, db-primary, db-replica] }
  web-02: { address: 203.0.113.12, roles: [lb, web, app] }
`),
    expected: ['hosts.web-01.roles: a host cannot be both db-primary and db-replica'],
  },
  {
    name: 'duplicate host key (YAML)',
    yaml: inv(TWO + `  web-01: { address: 203.0.113.13, roles: [web] }\n`),
    expected: ['line 7, column 3: Map keys must be unique'],
  },
  {
    name: 'YAML syntax error',
    yaml: `name: foobar
domain: www.foobar.com
ssh:
  key: keys/id_test
 user: root
hosts: {}
`,
    expected: ['line 5, column 1: All mapping items must start at the same column'],
  },
  {
    name: 'missing ssh.key',
    yaml: `name: foobar\ndomain: www.foobar.com\nssh: { user: root }\nhosts:\n${TWO}`,
    expected: ['ssh.key: is required'],
  },
  {
    name: 'key file missing',
    yaml: `name: foobar\ndomain: www.foobar.com\nssh: { key: keys/id_nowhere }\nhosts:\n${TWO}`,
    expected: ['ssh.key: <dir>/keys/id_nowhere does not exist'],
  },
  {
    name: 'unknown top-level field',
    yaml: inv(TWO, 'loadbalancer: { algorithm: source }\n'),
    expected: ['(top level): unknown field "loadbalancer"'],
  },
  {
    name: 'unknown host field',
    yaml: inv(TWO, '  web-03: { address: 203.0.113.13, roles: [web], user: admin }\n'),
    expected: ['hosts.web-03: unknown field "user"'],
  },
  {
    name: 'bad port',
    yaml: inv(`  web-01: { address: 203.0.113.11, port: 70000, roles: [lb, web, app, db-primary] }\n`),
    expected: ['hosts.web-01.port: must be a port number (1-65535)'],
  },
  {
    name: 'port that is not a number',
    yaml: `name: foobar\ndomain: www.foobar.com\nssh: { key: keys/id_test, port: ssh }\nhosts:\n${TWO}`,
    expected: ['ssh.port: must be a port number'],
  },
  {
    name: 'bad algorithm',
    yaml: inv(TWO, 'lb: { algorithm: random }\n'),
    expected: ['lb.algorithm: unknown algorithm "random" (expected one of roundrobin, leastconn, source)'],
  },
  {
    name: 'an app entry outside the release',
    yaml: inv(TWO, 'app: { entry: ../../etc/passwd }\n'),
    expected: ['app.entry: must be a path inside the release, such as src/server.js'],
  },
  {
    name: 'an absolute app entry',
    yaml: inv(TWO, 'app: { entry: /usr/bin/node }\n'),
    expected: ['app.entry: must be a path inside the release, such as src/server.js'],
  },
  {
    name: 'active-passive without its shared address and interface',
    yaml: inv(TWO, 'lb: { mode: active-passive }\n'),
    expected: [
      'lb.vip: is required with mode: active-passive (the address the load balancers share, such as 10.0.0.10/24)',
      "lb.interface: is required with mode: active-passive (the interface that carries the hosts' addresses, such as eth0)",
    ],
  },
  {
    name: 'active-passive with one load balancer',
    yaml: inv(`  web-01: { address: 203.0.113.11, roles: [lb, web, app, db-primary] }
  web-02: { address: 203.0.113.12, roles: [web, app, db-replica] }
`, 'lb: { mode: active-passive, vip: 203.0.113.10/24, interface: eth0 }\n'),
    expected: ['lb.mode: active-passive needs at least two hosts with the role lb (found 1)'],
  },
  {
    name: 'a shared address that a host already has',
    yaml: inv(TWO, 'lb: { mode: active-passive, vip: 203.0.113.12/24, interface: eth0 }\n'),
    expected: ['lb.vip: 203.0.113.12 is the address of web-02; the shared address must be a free one'],
  },
  {
    name: 'a shared address without its prefix, and a bad router id',
    yaml: inv(TWO, 'lb: { mode: active-passive, vip: 203.0.113.10, interface: eth0, router_id: 300 }\n'),
    expected: ['lb.vip: must be an address with prefix, such as 10.0.0.10/24', 'lb.router_id: must be a whole number from 1 to 255'],
  },
  {
    name: 'a replica lag limit that is not a whole number of seconds',
    yaml: inv(TWO, 'db: { max_replica_lag: 2.5 }\n'),
    expected: ['db.max_replica_lag: must be a whole number of seconds'],
  },
  {
    name: 'a replica lag limit of zero',
    yaml: inv(TWO, 'db: { max_replica_lag: 0 }\n'),
    expected: ['db.max_replica_lag: must be at least 1 second'],
  },
  {
    name: 'an address that is not IPv4',
    yaml: inv(TWO, 'lb: { mode: active-passive, vip: 203.0.113.300/24, interface: eth0 }\n'),
    expected: ['lb.vip: 203.0.113.300/24 is not a valid IPv4 address with prefix'],
  },
  {
    name: 'a shared address in active-active mode',
    yaml: inv(TWO, 'lb: { vip: 203.0.113.10/24 }\n'),
    expected: ['lb.vip: only used with mode: active-passive (the mode is active-active)'],
  },
  {
    name: 'bad address',
    yaml: inv(`  web-01: { address: 203.0.113, roles: [lb, web, app, db-primary] }\n`),
    expected: ['hosts.web-01.address: not an IPv4 address or host name: "203.0.113"'],
  },
  {
    name: 'bad host name',
    yaml: inv(TWO, '  Web_03: { address: 203.0.113.13, roles: [web] }\n'),
    expected: ['hosts.Web_03: host names are lower-case letters, digits and dashes'],
  },
  {
    name: 'empty hosts',
    yaml: inv('  {}\n'),
    expected: ['hosts: at least one host is needed'],
  },
];

for (const c of BAD) {
  test(`refused: ${c.name}`, async () => {
    const slug = c.name.replace(/[^a-z0-9]+/gi, '-');
    const { file, shown } = write(slug, c.yaml);
    const got = await problems(file, c.opts);
    assert.equal(
      got,
      c.expected.map((p) => `${shown}: ${p.replace('<dir>', dir)}`),
    );
  });
}

test('refused: a file that does not exist', async () => {
  const file = path.join(dir, 'nope.yml');
  assert.equal(await problems(file), [`${shownPath(file)}: file not found`]);
});

test('requireKey: false accepts a key that does not exist yet (lab up creates it)', async () => {
  const { file } = write('lab', `name: foobar\ndomain: www.foobar.com\nssh: { key: keys/id_later }\nhosts:\n${TWO}`);
  const got = await loadInventory(file, { requireKey: false });
  assert.is(got.ssh.key, path.join(dir, 'keys', 'id_later'));
});

test('loading is pure file IO: unreachable addresses load, bad files reject with InventoryError', async () => {
  // 192.0.2.0/24 is TEST-NET-1: nothing answers there, and loading must not try.
  const { file } = write(
    'unreachable',
    inv(`  web-01: { address: 192.0.2.1, port: 1, roles: [lb, web, app, db-primary] }\n`),
  );
  const got = await loadInventory(file);
  assert.is(got.hosts[0]!.address, '192.0.2.1');
  const bad = write('unreachable-bad', inv(`  web-01: { address: 192.0.2.1, roles: [lb, app, db-primary] }\n`));
  try {
    await loadInventory(bad.file);
    assert.unreachable('should reject');
  } catch (err) {
    assert.instance(err, InventoryError);
    assert.is((err as Error).message, `${bad.shown}: hosts: at least one host must have the role web`);
  }
});

test('limitHosts: names select hosts in inventory order; an unknown name is refused', async () => {
  const { file } = write('limit', inv(TWO + `  web-03: { address: 203.0.113.13, roles: [web] }\n`));
  const got = await loadInventory(file);
  assert.equal(
    limitHosts(got, undefined).map((h) => h.name),
    ['web-01', 'web-02', 'web-03'],
  );
  assert.equal(
    limitHosts(got, ' web-03, web-01 ').map((h) => h.name),
    ['web-01', 'web-03'],
  );
  assert.throws(
    () => limitHosts(got, 'web-01,web-09'),
    (err: Error) =>
      err instanceof UsageError && err.message === '--limit: unknown host web-09 (the inventory has web-01, web-02, web-03)',
  );
  assert.throws(
    () => limitHosts(got, 'db-1,db-2'),
    (err: Error) => err instanceof UsageError && err.message === '--limit: unknown hosts db-1, db-2 (the inventory has web-01, web-02, web-03)',
  );
});

test('apt.proxy: a bare http(s)://host[:port][/] is accepted, anything that could end apt\'s value is not', () => {
  const table: [string, boolean][] = [
    ['http://10.0.0.1:3142', true],
    ['http://10.0.0.1:3142/', true],
    ['https://proxy.example.net', true],
    ['http://[fd00::1]:3142', true],
    ['http://10.77.0.1:3142', true],
    ['http://10.0.0.1:3142/";APT::Update::Pre-Invoke {"touch /tmp/pwned";};//', false],
    ['http://10.0.0.1:3142/path', false],
    ['http://10.0.0.1:3142?x', false],
    ['http://user:pass@10.0.0.1:3142', false],
    ['http://10.0.0.1:0', false],
    ['http://10.0.0.1:65536', false],
    ['http://999.0.0.1:3142', false],
    ['HTTP://10.0.0.1', false],
    ['ftp://10.0.0.1', false],
    ['http://10.0.0.1 ', false],
    ['http://10.0.0.1\n', false],
    ["http://10.0.0.1';", false],
    ['http://-bad.example', false],
    ['', false],
  ];
  for (const [url, ok] of table) assert.is(isAptProxyUrl(url), ok, JSON.stringify(url));
});

test('time zones are checked here: known names pass, unknown ones and wrong capitals do not', () => {
  for (const zone of ['Etc/UTC', 'UTC', 'Europe/Paris', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5', 'Asia/Kolkata', 'America/Port-au-Prince']) {
    assert.is(timeZoneProblem(zone), undefined, zone);
  }
  assert.match(timeZoneProblem('Mars/Olympus') ?? '', /unknown time zone "Mars\/Olympus"/);
  assert.match(timeZoneProblem('Local') ?? '', /unknown time zone/);
  assert.match(timeZoneProblem('europe/paris') ?? '', /did you mean Europe\/Paris\?/);
  // An alias in the wrong case resolves in Intl; the zone files (here a stand-in folder) decide.
  const zoneinfo = path.join(dir, 'zoneinfo');
  fs.mkdirSync(path.join(zoneinfo, 'Etc'), { recursive: true });
  fs.writeFileSync(path.join(zoneinfo, 'Etc', 'UTC'), 'TZif');
  assert.is(timeZoneProblem('Etc/UTC', zoneinfo), undefined);
  assert.match(timeZoneProblem('ETC/UTC', zoneinfo) ?? '', /there is no \S+\/zoneinfo\/ETC\/UTC on this machine \(names are case-sensitive\)/);
  assert.match(timeZoneProblem('Etc', zoneinfo) ?? '', /unknown time zone/, 'a folder is not a zone');
  assert.is(timeZoneProblem('ETC/UTC', path.join(dir, 'no-zoneinfo')), undefined, 'without zone files, Intl alone decides');
});

test('every account and schema the database recipe creates for itself is refused as db.user and db.name', async () => {
  const { file } = write('reserved', inv(TWO));
  const inventory = await loadInventory(file);
  const secrets = { db_app_password: new Secret('a'), db_replication_password: new Secret('b'), db_verify_password: new Secret('c') } as Secrets;
  const ids = inventory.hosts.flatMap((host) => database_.build({ inventory, host, secrets }).flatMap((w) => w.ops.map((o) => o.id)));
  const users = new Set(ids.flatMap((id) => /^mysql account (.+)@/.exec(id)?.[1] ?? []));
  const schemas = new Set(ids.flatMap((id) => /^mysql database (.+)$/.exec(id)?.[1] ?? []));
  assert.ok(users.size >= 3 && schemas.size >= 2, `${[...users]} ${[...schemas]}`);
  for (const user of users) if (user !== inventory.db.user) assert.ok(reservedAccount(user), `${user} is not reserved`);
  for (const schema of schemas) if (schema !== inventory.db.name) assert.ok(reservedSchema(schema), `${schema} is not reserved`);
  assert.is(reservedAccount('app'), undefined);
  assert.is(reservedAccount('shop_user'), undefined);
  assert.is(reservedSchema('shop'), undefined);
});

test('the inventories shipped in inventory/ load', async () => {
  const shipped = path.resolve(import.meta.dirname, '../../inventory');
  const lab = await loadInventory(path.join(shipped, 'lab.yml'), { requireKey: false });
  assert.is(lab.lb.mode, 'active-active');
  const failover = await loadInventory(path.join(shipped, 'lab-failover.yml'), { requireKey: false });
  assert.equal(failover.lb.failover, { vip: '10.77.0.10', prefix: 24, interface: 'eth0', routerId: 51 });
  assert.is(failover.secretsFile, lab.secretsFile, 'the failover lab shares the lab secrets');
  assert.is(failover.ssh.knownHosts, lab.ssh.knownHosts);
  const example = await loadInventory(path.join(shipped, 'example.yml'), { requireKey: false });
  assert.equal(example.hosts.map((h) => h.address), ['203.0.113.11', '203.0.113.12']);
});

test.run();
