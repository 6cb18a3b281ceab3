// The per-host package set as a table: {roles, inventory, selected recipes, release} -> the one
// packages op each host gets (or none), as `tandem plan` shows it.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { parseYaml, toInventory } from '../../src/inventory/load.ts';
import { Secret } from '../../src/secrets/secret.ts';
import { SECRET_NAMES, type Secrets } from '../../src/secrets/store.ts';
import { buildWork, selectRecipes } from '../../recipes/index.ts';
import { hostPackages, packagesWork } from '../../recipes/packages.ts';

const secrets = Object.fromEntries(SECRET_NAMES.map((n) => [n, new Secret(`secret of ${n}`)])) as Secrets;
const release = { id: '20260101-000000-abc', version: '1.0.0', tarball: '/nonexistent/release.tgz' };

function load(roles: string, extra = '') {
  const yaml = `name: p
domain: www.example.test
ssh: { user: root, key: id_ed25519 }
${extra}
hosts:
  h1: { address: 10.0.0.11, roles: [${roles}] }
  h2: { address: 10.0.0.12, roles: [lb, web, app, db-replica] }
  h0: { address: 10.0.0.10, roles: [db-primary] }
`;
  return toInventory(parseYaml(yaml, 'p.yml'), '/inv/p.yml', 'p.yml');
}

// nftables: the firewall recipe's, on every host (the firewall is on by default).
const BASE = ['ca-certificates', 'curl', 'nftables', 'tzdata'];
const CASES: { name: string; roles: string; extra?: string; recipes?: string; noRelease?: boolean; expected: string[] }[] = [
  { name: 'every role on one host', roles: 'lb, web, app, db-replica', expected: [...BASE, 'haproxy', 'mariadb-client', 'mariadb-server', 'nginx', 'nodejs', 'socat'].sort() },
  { name: 'a replica', roles: 'db-replica', expected: [...BASE, 'mariadb-client', 'mariadb-server'].sort() },
  { name: 'MySQL 8 as the engine', roles: 'db-replica', extra: 'db: { engine: mysql }', expected: [...BASE, 'mysql-client', 'mysql-server'].sort() },
  { name: 'an lb-only host, active-active', roles: 'lb', expected: [...BASE, 'haproxy', 'socat'].sort() },
  { name: 'an lb-only host, active-passive: keepalived too', roles: 'lb', extra: 'lb: { mode: active-passive, vip: 10.0.0.9/24, interface: eth0 }', expected: [...BASE, 'haproxy', 'keepalived', 'socat'].sort() },
  { name: 'an app host without a release: no Node (the app recipe builds nothing)', roles: 'web, app', noRelease: true, expected: [...BASE, 'nginx'].sort() },
  { name: '--recipe nginx: only its packages', roles: 'lb, web, app, db-replica', recipes: 'nginx', expected: ['nginx'] },
  { name: '--recipe app,haproxy', roles: 'lb, web, app, db-replica', recipes: 'app,haproxy', expected: ['haproxy', 'nodejs', 'socat'] },
  { name: '--recipe nginx on a host that is not a web server: nothing to install', roles: 'db-replica', recipes: 'nginx', expected: [] },
  { name: '--recipe keepalived, active-active: nothing to install', roles: 'lb', recipes: 'keepalived', expected: [] },
];

for (const c of CASES) {
  test(`host packages: ${c.name}`, () => {
    const inventory = load(c.roles, c.extra);
    const host = inventory.hosts[0]!;
    const ctx = { inventory, host, secrets, ...(c.noRelease ? {} : { release }) };
    const recipes = selectRecipes(c.recipes);
    assert.equal(hostPackages(recipes, ctx), c.expected);
    // The same set reaches the plan as one op in the base phase (none when the set is empty).
    const base = buildWork(inventory, [host], secrets, recipes, c.noRelease ? undefined : release).get(host.name)!.filter((w) => w.phase === 'base');
    const installs = base.flatMap((w) => w.ops).filter((o) => o.id.startsWith('packages'));
    assert.equal(installs.map((o) => o.id), c.expected.length ? [`packages ${c.expected.join(' ')}`] : []);
    assert.is(packagesWork(recipes, ctx).length, c.expected.length ? 1 : 0);
  });
}

test('host packages: the apt proxy is set before the install, so the install goes through it', () => {
  const inventory = load('web', "apt: { proxy: 'http://10.0.0.1:3142' }");
  const [work] = packagesWork(selectRecipes('nginx'), { inventory, host: inventory.hosts[0]!, secrets });
  assert.equal(work!.ops.map((o) => o.id), ['file /etc/apt/apt.conf.d/01tandem-proxy', 'packages nginx']);
});

test.run();
