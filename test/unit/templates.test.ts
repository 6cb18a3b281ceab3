// Every shipped template, rendered through the recipes from an inventory whose secrets hold every
// special character, and read back with its program's own rules: the values come out as they went in.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseYaml, toInventory } from '../../src/inventory/load.ts';
import { Secret } from '../../src/secrets/secret.ts';
import { SECRET_NAMES, type Secrets } from '../../src/secrets/store.ts';
import { TEMPLATES_DIR } from '../../src/ops/template.ts';
import { buildWork, RECIPES } from '../../recipes/index.ts';
import type { Command } from '../../src/engine/types.ts';
import { haproxyWords, keepalivedWords, nginxDirectives, parseAptConfig, parseEnvFile, parseOptionFile, unitExecWords, unitSettingValue } from '../fixtures/format-parsers.ts';
import { SPECIAL_PASSWORDS } from '../fixtures/special-values.ts';

const INVENTORY = `
name: hostile
domain: www.example.test
ssh: { user: root, key: id_ed25519 }
apt: { proxy: 'http://10.0.0.1:3142/' }
hosts:
  web-01: { address: 10.0.0.11, roles: [lb, web, app, db-primary] }
  web-02: { address: 10.0.0.12, roles: [lb, web, app, db-replica] }
lb: { mode: active-passive, vip: 10.0.0.10/24, interface: eth0 }
app: { port: 3000, entry: src/server.js }
db: { name: app_db, user: app_user }
`;

const inventory = toInventory(parseYaml(INVENTORY, 'hostile.yml'), '/inventories/hostile.yml', 'hostile.yml');
const secrets = Object.fromEntries(SECRET_NAMES.map((n) => [n, new Secret(SPECIAL_PASSWORDS[n])])) as Secrets;
const release = { id: '20260101-000000-abc', version: '1.0.0', tarball: '/nonexistent/release.tgz' };

/** host -> path -> content of every file a recipe writes (planned against hosts that have none). */
function renderedFiles(): Map<string, Map<string, string>> {
  const work = buildWork(inventory, inventory.hosts, secrets, RECIPES, release);
  const files = new Map<string, Map<string, string>>();
  for (const [host, phases] of work) {
    const byPath = new Map<string, string>();
    for (const op of phases.flatMap((p) => p.ops)) {
      if (!op.id.startsWith('template ') && !op.id.startsWith('file ')) continue;
      const change = op.plan({ get: <T>() => ({ exists: false }) as T })!;
      const put = change.commands.find((c): c is Extract<Command, { kind: 'put' }> => c.kind === 'put')!;
      byPath.set(put.path, typeof put.content === 'string' ? put.content : String(put.content));
    }
    files.set(host, byPath);
  }
  return files;
}

const files = renderedFiles();
const on = (host: string, file: string) => {
  const content = files.get(host)?.get(file);
  if (content === undefined) throw new Error(`${host} gets no ${file}`);
  return content;
};
const settings = (unit: string) => Object.fromEntries(unit.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

test('every template in templates/ is rendered by a recipe here (a new one needs its own check below)', () => {
  const shipped = readdirSync(TEMPLATES_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ejs')).sort();
  assert.equal(shipped, [
    path.join('app', 'app.env.ejs'),
    path.join('app', 'tandem-app.service.ejs'),
    path.join('haproxy', 'haproxy.cfg.ejs'),
    path.join('keepalived', 'keepalived.conf.ejs'),
    // Checked in test/unit/monitor.test.ts.
    path.join('monitor', 'alertmanager.yml.ejs'),
    path.join('monitor', 'blackbox.yml.ejs'),
    path.join('monitor', 'defaults.ejs'),
    path.join('monitor', 'mysqld-exporter.cnf.ejs'),
    path.join('monitor', 'prometheus.yml.ejs'),
    path.join('monitor', 'rules.yml.ejs'),
    path.join('monitor', 'vip-held.service.ejs'),
    path.join('monitor', 'vip-held.timer.ejs'),
    path.join('mysql', 'tandem.cnf.ejs'),
    path.join('nginx', 'site.conf.ejs'),
  ]);
  const written = [...files.get('web-01')!.keys()];
  for (const p of ['/etc/tandem/app.env', '/etc/systemd/system/tandem-app.service', '/etc/haproxy/haproxy.cfg', '/etc/keepalived/keepalived.conf', '/etc/mysql/mariadb.conf.d/60-tandem.cnf', '/etc/nginx/sites-enabled/tandem.conf']) {
    assert.ok(written.includes(p), `web-01 gets ${p} (has ${written.join(', ')})`);
  }
});

test('app.env, read as systemd reads an EnvironmentFile, gives the password exactly, and no HTML entity', () => {
  for (const host of ['web-01', 'web-02']) {
    const text = on(host, '/etc/tandem/app.env');
    assert.equal(parseEnvFile(text), {
      APP_HOST: '127.0.0.1',
      APP_PORT: '3000',
      APP_SERVER_NAME: host,
      DB_FILE: '/etc/tandem/app-db.env',
      DB_PRIMARY_PORT: '3306',
      DB_LOCAL_PORT: '3306',
      DB_MAX_REPLICA_LAG: '10',
      DB_NAME: 'app_db',
      DB_USER: 'app_user',
      DB_PASSWORD: SPECIAL_PASSWORDS.db_app_password,
    });
    assert.not.match(text, /&amp;|&lt;|&gt;|&#34;|&#39;/);
    assert.is(text.split('\n').filter(Boolean).length, 12, 'one line per variable plus the two comments');
  }
});

test('the app unit: each setting reads back as given; ExecStart runs the entry as one argument', () => {
  const unit = settings(on('web-01', '/etc/systemd/system/tandem-app.service'));
  assert.is(unitSettingValue(unit.Description!), 'the app deployed by tandem (web-01)');
  assert.is(unitSettingValue(unit.User!), 'tandem-app');
  assert.is(unitSettingValue(unit.EnvironmentFile!), '/etc/tandem/app.env');
  assert.is(unitSettingValue(unit.WorkingDirectory!), '/srv/app/current');
  assert.equal(unitExecWords(unit.ExecStart!), ['/usr/bin/node', '/srv/app/current/src/server.js']);
});

test('the database config, read as MariaDB reads option files: every server starts read-only, semi-sync both sides', () => {
  for (const [host, address, readOnly] of [['web-01', '10.0.0.11', 'ON'], ['web-02', '10.0.0.12', 'ON']] as const) {
    const cnf = parseOptionFile(on(host, '/etc/mysql/mariadb.conf.d/60-tandem.cnf'));
    assert.is(cnf.mysqld!['bind-address'], address);
    assert.is(cnf.mysqld!.server_id, String((10 << 24) + Number(address.split('.')[3])));
    assert.is(cnf.mysqld!.read_only, readOnly);
    assert.is(cnf.mysqld!.log_bin, 'mysql-bin');
    assert.is(cnf.mysqld!.rpl_semi_sync_master_enabled, 'ON');
    assert.is(cnf.mysqld!.rpl_semi_sync_slave_enabled, 'ON');
    assert.is(cnf.mysqld!.rpl_semi_sync_master_wait_point, 'AFTER_SYNC');
    assert.is(cnf.mysqld!.rpl_semi_sync_master_timeout, '5000');
  }
});

test('the Nginx site: every word as Nginx tokenizes it', () => {
  const d = nginxDirectives(on('web-02', '/etc/nginx/sites-enabled/tandem.conf'));
  const find = (name: string) => d.filter((w) => w[0] === name);
  assert.equal(find('server_name'), [['server_name', 'www.example.test', 'web-02']]);
  assert.equal(find('listen'), [['listen', '8080', 'default_server']]);
  assert.equal(find('root'), [['root', '/srv/app/current/public']]);
  assert.equal(find('server').filter((w) => w.length > 1), [['server', '127.0.0.1:3000']]);
});

test('HAProxy: frontend port, balance and one server line per web host, as HAProxy splits them', () => {
  const lines = on('web-01', '/etc/haproxy/haproxy.cfg').split('\n').map((l) => haproxyWords(l));
  assert.equal(lines.filter((w) => w[0] === 'server'), [
    ['server', 'web-01', '10.0.0.11:8080', 'check'],
    ['server', 'web-02', '10.0.0.12:8080', 'check'],
  ]);
  assert.ok(lines.some((w) => w.join(' ') === 'bind *:80'));
  assert.ok(lines.some((w) => w.join(' ') === 'balance roundrobin'));
  // The check asks whether the server can serve reads: writes down keeps it in rotation.
  assert.ok(lines.some((w) => w.join(' ') === 'option httpchk GET /healthz/read'));
});

test('keepalived: router id, peers and the shared address, as keepalived splits them', () => {
  const lines = on('web-02', '/etc/keepalived/keepalived.conf').split('\n').map(keepalivedWords).filter((w) => w.length);
  const find = (name: string) => lines.filter((w) => w[0] === name);
  assert.equal(find('router_id'), [['router_id', 'web-02']]);
  assert.equal(find('state'), [['state', 'BACKUP']]);
  assert.equal(find('priority'), [['priority', '140']]);
  assert.equal(find('unicast_src_ip'), [['unicast_src_ip', '10.0.0.12']]);
  assert.ok(lines.some((w) => w.join(' ') === '10.0.0.11'), 'the peer');
  assert.ok(lines.some((w) => w.join(' ') === '10.0.0.10/24 dev eth0'), 'the shared address');
});

test("apt's proxy and the host record read back as written", () => {
  assert.equal(parseAptConfig(on('web-01', '/etc/apt/apt.conf.d/01tandem-proxy')), { 'Acquire::http::Proxy': 'http://10.0.0.1:3142/' });
  assert.equal(parseEnvFile(on('web-02', '/etc/tandem/host')), { name: 'web-02', roles: 'lb,web,app,db-replica', inventory: 'hostile' });
});

test('no template output holds an HTML entity', () => {
  for (const byPath of files.values()) for (const [p, text] of byPath) assert.not.match(text, /&(amp|lt|gt|quot|#\d+);/, p);
});

test.run();
