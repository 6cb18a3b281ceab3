// Every recipe built (through recipes/index.ts, as `apply` builds them) for inventories of each
// shape, and read as a user would check the plan: which phases and ops each host gets, which
// handlers, where the database accounts and replication go, what the load balancer points at.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { parseYaml, toInventory } from '../../src/inventory/load.ts';
import { Secret } from '../../src/secrets/secret.ts';
import { SECRET_NAMES, type Secrets } from '../../src/secrets/store.ts';
import { buildWork, RECIPES, selectRecipes } from '../../recipes/index.ts';
import type { Command, Fact, HostWork, Op } from '../../src/engine/types.ts';
import type { Inventory } from '../../src/inventory/types.ts';
import { isPeerFact } from '../../src/engine/facts.ts';
import { buildUnits } from '../../src/engine/schedule.ts';
import { APP_DB_FILE, APP_ENV_FILE, HAPROXY_CONFIG, KEEPALIVED_CONFIG } from '../../src/stack/names.ts';
import { haproxyWords, parseEnvFile } from '../fixtures/format-parsers.ts';
import { dialectFor } from '../../src/ops/mysql/dialect.ts';

const HEAD = `
domain: www.example.test
ssh: { user: root, key: id_ed25519 }
app: { port: 3000 }
db: { name: app_db, user: app_user }
`;

/** The shapes an inventory takes; each host's roles say what it should get. */
const SHAPES: Record<string, string> = {
  'two servers (the default)': `
hosts:
  web-01: { address: 10.0.0.11, roles: [lb, web, app, db-primary] }
  web-02: { address: 10.0.0.12, roles: [lb, web, app, db-replica] }
lb: { mode: active-active }`,
  'three servers, two replicas': `
hosts:
  web-01: { address: 10.0.0.11, roles: [lb, web, app, db-primary] }
  web-02: { address: 10.0.0.12, roles: [lb, web, app, db-replica] }
  web-03: { address: 10.0.0.13, roles: [web, app, db-replica] }
lb: { mode: active-active }`,
  'active-passive with keepalived': `
hosts:
  web-01: { address: 10.0.0.11, roles: [lb, web, app, db-primary] }
  web-02: { address: 10.0.0.12, roles: [lb, web, app, db-replica] }
lb: { mode: active-passive, vip: 10.0.0.10/24, interface: eth0 }`,
  'split roles: an lb-only host, app hosts, db-only hosts': `
hosts:
  lb-01: { address: 10.0.0.5, roles: [lb] }
  app-01: { address: 10.0.0.21, roles: [web, app] }
  app-02: { address: 10.0.0.22, roles: [web, app] }
  db-01: { address: 10.0.0.31, roles: [db-primary] }
  db-02: { address: 10.0.0.32, roles: [db-replica] }
lb: { mode: active-active }`,
};

const secrets = Object.fromEntries(SECRET_NAMES.map((n) => [n, new Secret(`secret of ${n}`)])) as Secrets;
const release = { id: '20260101-000000-abc', version: '1.0.0', tarball: '/nonexistent/release.tgz' };

function load(shape: string, engine: 'mariadb' | 'mysql' = 'mariadb'): Inventory {
  const yaml = `name: shape\n${HEAD.replace('user: app_user }', `user: app_user, engine: ${engine} }`)}${SHAPES[shape]}`;
  return toInventory(parseYaml(yaml, 'shape.yml'), '/inventories/shape.yml', 'shape.yml');
}

const ids = (work: HostWork[], phase: string) => work.filter((w) => w.phase === phase).flatMap((w) => w.ops.map((o) => o.id));
const handlers = (work: HostWork[]) => work.flatMap((w) => (w.handlers ?? []).map((h) => h.id));
const op = (work: HostWork[], id: string): Op => {
  const found = work.flatMap((w) => w.ops).find((o) => o.id === id);
  if (!found) throw new Error(`no op ${id} in ${work.flatMap((w) => w.ops.map((o) => o.id)).join(', ')}`);
  return found;
};

/** The content a template or file op writes on a host that has no such file yet. */
function written(work: HostWork[], id: string): string {
  const change = op(work, id).plan({ get: <T>() => ({ exists: false }) as T })!;
  const put = change.commands.find((c): c is Extract<Command, { kind: 'put' }> => c.kind === 'put')!;
  return String(put.content);
}

const BASE = ['timezone Etc/UTC', 'directory /etc/tandem', 'file /etc/tandem/host', 'directory /var/lib/tandem/firewall', 'firewall table inet tandem', 'file /etc/systemd/system/tandem-firewall.service', 'service tandem-firewall'];

/** What each role installs: all of it in the one packages op at the start of the host's base phase. */
function expectedPackages(roles: string[], engine: 'mariadb' | 'mysql', failover: boolean): string[] {
  const has = (r: string) => roles.includes(r);
  return [
    'ca-certificates', 'curl', 'nftables', 'tzdata',
    ...(has('db-primary') || has('db-replica') ? [`${engine}-client`, `${engine}-server`] : []),
    ...(has('app') ? ['nodejs'] : []),
    ...(has('web') ? ['nginx'] : []),
    ...(has('lb') ? ['haproxy', 'socat', ...(failover ? ['keepalived'] : [])] : []),
  ].sort();
}

for (const shape of Object.keys(SHAPES)) {
  for (const engine of ['mariadb', 'mysql'] as const) {
    test(`recipes, ${shape}, ${engine}: each host gets the phases and ops its roles call for`, () => {
      const inv = load(shape, engine);
      const work = buildWork(inv, inv.hosts, secrets, RECIPES, release);
      assert.equal([...work.keys()], inv.hosts.map((h) => h.name), 'every host, in inventory order');
      const primary = inv.hosts.find((h) => h.roles.includes('db-primary'))!;
      const replicas = inv.hosts.filter((h) => h.roles.includes('db-replica'));
      const apps = inv.hosts.filter((h) => h.roles.includes('app'));
      const server = engine === 'mysql' ? 'mysql' : 'mariadb';
      for (const h of inv.hosts) {
        const w = work.get(h.name)!;
        const has = (r: string) => h.roles.includes(r as never);
        const where = `${h.name} (${h.roles.join(',')})`;
        // Phases in the order the engine runs them; nothing for a role the host lacks.
        const phases = [...new Set(w.map((x) => x.phase))];
        const expected = ['check', 'base', ...(has('db-primary') || has('db-replica') ? ['db'] : []), ...(has('db-primary') || has('db-replica') ? ['replication'] : []), ...(has('app') ? ['app'] : []), ...(has('web') ? ['web'] : []), ...(has('lb') ? ['lb'] : [])];
        assert.equal(phases, expected, where);

        // The platform check on every host; a replica also reads its primary's platform.
        assert.equal(ids(w, 'check'), ['platform'], where);
        const peers = op(w, 'platform').facts.filter(isPeerFact).map((f) => f.peer.host);
        assert.equal(peers, has('db-replica') ? [primary.name] : [], `${where}: peers read by the platform check`);
        assert.equal(ids(w, 'base'), ['absent /etc/apt/apt.conf.d/01tandem-proxy', `packages ${expectedPackages(h.roles, engine, !!inv.lb.failover).join(' ')}`, ...BASE], where);
        assert.not.ok(w.flatMap((x) => x.ops).some((o) => o.id.startsWith('apt ')), `${where}: no recipe installs packages of its own`);

        if (has('app')) {
          assert.equal(ids(w, 'app'), [
            'user tandem-app', 'directory /srv/app', 'directory /srv/app/releases',
            `release /srv/app/releases/${release.id}`, 'symlink /srv/app/current (first release)',
            `template ${APP_ENV_FILE}`, `file ${APP_DB_FILE}`, 'template /etc/systemd/system/tandem-app.service', 'service tandem-app',
          ], where);
          // The app reads from its own database when it has one, else from the primary's; which
          // servers those are is in the database file promote rewrites, not in app.env.
          const env = parseEnvFile(written(w, `template ${APP_ENV_FILE}`));
          assert.is(env.DB_FILE, APP_DB_FILE, where);
          assert.is(env.DB_PRIMARY_HOST, undefined, where);
          assert.is(env.DB_PASSWORD, 'secret of db_app_password', where);
          const db = parseEnvFile(written(w, `file ${APP_DB_FILE}`));
          assert.is(db.DB_PRIMARY_HOST, primary.address, where);
          assert.is(db.DB_LOCAL_HOST, has('db-primary') || has('db-replica') ? h.address : primary.address, where);
        }
        if (has('web')) {
          assert.equal(ids(w, 'web'), ['absent /etc/nginx/sites-enabled/default', 'template /etc/nginx/sites-enabled/tandem.conf', 'service nginx'], where);
        }
        if (has('db-primary') || has('db-replica')) {
          assert.equal(ids(w, 'db').slice(0, 2), [`template ${engine === 'mysql' ? '/etc/mysql/mysql.conf.d/60-tandem.cnf' : '/etc/mysql/mariadb.conf.d/60-tandem.cnf'}`, `service ${server}`], where);
        }
        if (has('db-primary')) {
          // The app's account for every app host, the replication account for every replica.
          assert.equal(ids(w, 'db').slice(2), [
            'mysql database app_db', 'mysql database tandem',
            ...apps.map((a) => `mysql account app_user@${a.address}`),
            ...replicas.map((r) => `mysql account tandem_repl@${r.address}`),
            `mysql account tandem_verify@${h.address}`,
          ], where);
        }
        if (has('db-primary')) assert.equal(ids(w, 'replication'), ['mysql writable (primary)'], `${where}: the primary takes writes once its server runs`);
        if (has('db-replica')) {
          assert.equal(ids(w, 'db').length, 2, `${where}: the server only; accounts come from the primary's binary log`);
          assert.equal(ids(w, 'replication'), [
            ...(has('app') ? [`mysql account app_user@${h.address}`] : []),
            `mysql account tandem_verify@${h.address}`,
            `mysql replication from ${primary.name}`,
          ], where);
        }
        if (has('lb')) {
          const keepalived = inv.lb.failover ? [`template ${KEEPALIVED_CONFIG}`, 'service keepalived'] : ['service keepalived'];
          assert.equal(ids(w, 'lb'), [`template ${HAPROXY_CONFIG}`, 'service haproxy', ...keepalived], where);
        }
        const expectedHandlers = [
          ...(has('db-primary') || has('db-replica') ? [`restart ${server}`] : []),
          ...(has('app') ? ['systemd daemon-reload', 'restart tandem-app', 'reload tandem-app'] : []),
          ...(has('web') ? ['reload nginx'] : []),
          ...(has('lb') ? ['reload haproxy', ...(inv.lb.failover ? ['reload keepalived'] : [])] : []),
        ];
        assert.equal(handlers(w), expectedHandlers, `${where}: handlers`);
      }
    });
  }

  test(`recipes, ${shape}: HAProxy on every lb host lists every web server, at its address, checked`, () => {
    const inv = load(shape);
    const work = buildWork(inv, inv.hosts, secrets, RECIPES, release);
    const web = inv.hosts.filter((h) => h.roles.includes('web'));
    for (const lb of inv.hosts.filter((h) => h.roles.includes('lb'))) {
      const cfg = written(work.get(lb.name)!, `template ${HAPROXY_CONFIG}`);
      const servers = cfg.split('\n').map((l) => haproxyWords(l)).filter((w) => w[0] === 'server');
      assert.equal(servers, web.map((h) => ['server', h.name, `${h.address}:8080`, 'check']), lb.name);
    }
  });
}

test('recipes: active-active stops and disables keepalived only where it is installed', () => {
  const inv = load('two servers (the default)');
  for (const [host, w] of buildWork(inv, inv.hosts, secrets, RECIPES, release)) {
    const keepalived = op(w, 'service keepalived');
    assert.is(keepalived.plan({ get: <T>() => ({ exists: false, enabled: false, active: false }) as T }), null, `${host}: not installed, nothing to do`);
    const change = keepalived.plan({ get: <T>() => ({ exists: true, enabled: true, active: true }) as T })!;
    assert.is(change.summary, 'disable and stop keepalived', host);
  }
});

/** The SQL a change sends to the mysql client (its stdin, a Secret when it holds a password). */
function sqlOf(change: { commands: Command[] } | null): string {
  assert.ok(change, 'a change is planned');
  return change!.commands.map((c) => (c.kind === 'script' && c.stdin !== undefined ? (c.stdin instanceof Secret ? c.stdin.reveal() : String(c.stdin)) : '')).join('\n');
}

test('recipes: a replica replicates from the primary as the account the primary made for it; its local accounts stay out of the binary log', () => {
  const inv = load('split roles: an lb-only host, app hosts, db-only hosts', 'mysql');
  const work = buildWork(inv, inv.hosts, secrets, RECIPES, release);
  const replica = work.get('db-02')!;
  const s = dialectFor('mysql').status;
  // A replica pointed somewhere else is pointed at db-01, with the replication password.
  const state = { up: true, replica: { [s.sourceHost]: '10.0.0.99', [s.sourceUser]: 'tandem_repl' } };
  // The primary's platform is not read here (not part of this plan): MySQL decides TLS itself.
  const change = op(replica, 'mysql replication from db-01').plan({ get: <T>(f: Fact<T>) => (isPeerFact(f) ? undefined : state) as T });
  assert.is(change!.summary, 'point replication at db-01 (10.0.0.31) as tandem_repl, was 10.0.0.99 as tandem_repl');
  const sql = sqlOf(change);
  assert.match(sql, /SOURCE_HOST\s*=\s*'10\.0\.0\.31'/);
  assert.match(sql, /SOURCE_USER\s*=\s*'tandem_repl'/);
  assert.match(sql, /SOURCE_PASSWORD\s*=\s*'secret of db_replication_password'/);
  // Accounts made on the replica itself are kept out of its binary log; the primary's are logged (they replicate).
  const fresh = <T>() => ({ exists: false }) as T;
  assert.match(sqlOf(op(replica, 'mysql account tandem_verify@10.0.0.32').plan({ get: fresh })), /SET SESSION sql_log_bin = 0;/);
  assert.not.match(sqlOf(op(work.get('db-01')!, 'mysql account tandem_repl@10.0.0.32').plan({ get: fresh })), /sql_log_bin/);
});

test('recipes: the app account may read the replica status (its read health) on every server, whichever role a promotion gives it', () => {
  for (const engine of ['mariadb', 'mysql'] as const) {
    const inv = load('two servers (the default)', engine);
    const work = buildWork(inv, inv.hosts, secrets, RECIPES, release);
    const fresh = <T>() => ({ exists: false }) as T;
    const monitor = engine === 'mariadb' ? /GRANT BINLOG MONITOR, SLAVE MONITOR ON \*\.\* TO/ : /GRANT REPLICATION CLIENT ON \*\.\* TO/;
    const onReplica = sqlOf(op(work.get('web-02')!, `mysql account ${inv.db.user}@10.0.0.12`).plan({ get: fresh }));
    assert.match(onReplica, monitor, engine);
    assert.match(onReplica, /SET SESSION sql_log_bin = 0;/);
    const onPrimary = sqlOf(op(work.get('web-01')!, `mysql account ${inv.db.user}@10.0.0.12`).plan({ get: fresh }));
    assert.match(onPrimary, monitor, engine);
    assert.not.match(onPrimary, /sql_log_bin/, 'on the primary it is logged, so every replica has it too');
  }
});

test('recipes: without a release the app is not built; --recipe picks recipes but the platform check stays', () => {
  const inv = load('two servers (the default)');
  const noRelease = buildWork(inv, inv.hosts, secrets, RECIPES);
  for (const w of noRelease.values()) {
    assert.equal(ids(w, 'app'), []);
    assert.not.ok(ids(w, 'base').some((id) => id.includes('nodejs')), 'nor is Node installed');
  }
  const onlyNginx = buildWork(inv, inv.hosts, secrets, selectRecipes('nginx'), release);
  for (const w of onlyNginx.values()) {
    assert.equal([...new Set(w.map((x) => x.phase))], ['check', 'base', 'web']);
    // Only the selected recipe's packages, still behind the apt proxy setting.
    assert.equal(ids(w, 'base'), ['absent /etc/apt/apt.conf.d/01tandem-proxy', 'packages nginx']);
  }
  assert.throws(() => selectRecipes('nginx,php'), /--recipe: unknown recipe php \(expected one of base, firewall, database, app, nginx, haproxy, keepalived, exporters, vip-metric, monitor\)/);
});

test('recipes: apt.proxy becomes a proxy file; the host record names the host, its roles and the inventory', () => {
  const yaml = `name: shape\n${HEAD}apt: { proxy: 'http://10.0.0.1:3142/' }\n${SHAPES['two servers (the default)']}`;
  const inv = toInventory(parseYaml(yaml, 'shape.yml'), '/inventories/shape.yml', 'shape.yml');
  const w = buildWork(inv, inv.hosts, secrets, RECIPES, release).get('web-02')!;
  assert.equal(ids(w, 'base')[0], 'file /etc/apt/apt.conf.d/01tandem-proxy');
  assert.is(written(w, 'file /etc/apt/apt.conf.d/01tandem-proxy'), 'Acquire::http::Proxy "http://10.0.0.1:3142/";\n');
  assert.equal(parseEnvFile(written(w, 'file /etc/tandem/host')), { name: 'web-02', roles: 'lb,web,app,db-replica', inventory: 'shape' });
});

test('work needs: a replica replicates once its primary\'s db work is done; app, web and lb need only base', () => {
  for (const shape of Object.keys(SHAPES)) {
    const inventory = load(shape);
    const units = buildUnits(
      inventory.hosts.map((h) => h.name),
      buildWork(inventory, inventory.hosts, secrets, RECIPES, release),
    );
    const primary = inventory.hosts.find((h) => h.roles.includes('db-primary'))!.name;
    for (const u of units) {
      const own = u.needs.filter((k) => k.startsWith(`${u.host}/`)).map((k) => k.slice(u.host.length + 1));
      const others = u.needs.filter((k) => !k.startsWith(`${u.host}/`));
      if (u.phase === 'replication' && u.host === primary) {
        assert.equal([own, others], [['check', 'db'], []], `${shape}: ${u.key}`);
      } else if (u.phase === 'replication') {
        assert.equal([own, others], [['check', 'db'], [`${primary}/db`]], `${shape}: ${u.key}`);
      } else if (['app', 'web', 'lb'].includes(u.phase)) {
        assert.equal([own, others], [['check', 'base'], []], `${shape}: ${u.key}`);
      } else {
        assert.equal(others, [], `${shape}: ${u.key}`);
      }
    }
  }
});

test.run();
