// Monitoring, rendered from inventories (no server): the scrape targets, the alert rules, the
// receivers with special characters, the exporters' places, and the `monitor:` section's errors.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYamlText } from 'yaml';
import { loadInventory, parseYaml, toInventory } from '../../src/inventory/load.ts';
import { InventoryError, SecretsError } from '../../src/errors.ts';
import { Secret } from '../../src/secrets/secret.ts';
import { SECRET_NAMES, type Secrets } from '../../src/secrets/store.ts';
import { buildWork, RECIPES } from '../../recipes/index.ts';
import { hostPackages } from '../../recipes/packages.ts';
import { expectedTargetCount, scrapeJobs } from '../../src/monitor/targets.ts';
import { goIniValue } from '../../src/formats/index.ts';
import type { Command } from '../../src/engine/types.ts';
import { haproxyWords, nginxDirectives, parseEnvFile, unitExecWords } from '../fixtures/format-parsers.ts';
import { SPECIAL_PASSWORDS } from '../fixtures/special-values.ts';
import { testPrivateKey } from '../fixtures/keys.ts';

const HOOK = `http://10.0.0.5:9000/hook?x="q"&y=\\{}$'é日本%41`;
const base = (hosts: string, extra = '') => `
name: mon
domain: www.example.test
ssh: { user: root, key: id_ed25519 }
hosts:
${hosts}${extra}`;
const TWO = `  web-01: { address: 10.0.0.11, roles: [lb, web, app, db-primary] }
  web-02: { address: 10.0.0.12, roles: [lb, web, app, db-replica, monitor] }
`;
const THREE = `  lb-01: { address: 10.0.0.5, roles: [lb] }
  web-01: { address: 10.0.0.11, roles: [web, app, db-primary] }
  web-02: { address: 10.0.0.12, roles: [web, app, db-replica] }
  mon-01: { address: 10.0.0.20, roles: [monitor] }
`;
const RECEIVERS = `monitor:
  scrape_interval: 5
  alert_after: 20
  webhooks: ['${HOOK.replace(/'/g, "''")}']
  email: { smarthost: 'smtp.example.test:587', from: 'tandem@example.test', to: ["o'brien+ops@example.test"], username: 'tandem "bot" é' }
`;

const load = (yaml: string) => toInventory(parseYaml(yaml, 'mon.yml'), '/inv/mon.yml', 'mon.yml');
const secretsWith = (names: Record<string, string>) => Object.fromEntries(Object.entries(names).map(([n, v]) => [n, new Secret(v)])) as unknown as Secrets;
const SECRETS = secretsWith(Object.fromEntries([...SECRET_NAMES, 'smtp_password'].map((n) => [n, SPECIAL_PASSWORDS[n as keyof typeof SPECIAL_PASSWORDS]])));
const release = { id: '20260101-000000-abc', version: '1.0.0', tarball: '/nonexistent/release.tgz' };

/** host -> path -> content of every file the recipes write, planned against empty hosts. */
function files(yaml: string, secrets: Secrets = SECRETS): Map<string, Map<string, string>> {
  const inv = load(yaml);
  const out = new Map<string, Map<string, string>>();
  for (const [host, work] of buildWork(inv, inv.hosts, secrets, RECIPES, release)) {
    const byPath = new Map<string, string>();
    for (const op of work.flatMap((w) => w.ops)) {
      if (!op.id.startsWith('template ') && !op.id.startsWith('file ')) continue;
      const put = op.plan({ get: <T>() => ({ exists: false }) as T })!.commands.find((c): c is Extract<Command, { kind: 'put' }> => c.kind === 'put')!;
      byPath.set(put.path, put.content instanceof Secret ? put.content.reveal() : String(put.content));
    }
    out.set(host, byPath);
  }
  return out;
}
const fileOn = (all: Map<string, Map<string, string>>, host: string, p: string) => {
  const text = all.get(host)?.get(p);
  if (text === undefined) throw new Error(`${host} gets no ${p}`);
  return text;
};

test('targets: every exporter of every host, the site probes and the monitor itself, counted from the inventory', () => {
  const two = load(base(TWO));
  const mon = two.hosts[1]!;
  // node 2, mysqld 2, nginx 2, app 2, haproxy 2, probe 2 (one per lb), prometheus 1, alertmanager 1.
  assert.is(expectedTargetCount(two, mon), 14);
  const jobs = Object.fromEntries(scrapeJobs(two, mon).map((j) => [j.name, j.targets.map((t) => `${t.host} ${t.address}`)]));
  assert.equal(jobs, {
    node: ['web-01 10.0.0.11:9100', 'web-02 10.0.0.12:9100'],
    mysqld: ['web-01 10.0.0.11:9104', 'web-02 10.0.0.12:9104'],
    nginx: ['web-01 10.0.0.11:9113', 'web-02 10.0.0.12:9113'],
    app: ['web-01 10.0.0.11:8080', 'web-02 10.0.0.12:8080'],
    haproxy: ['web-01 10.0.0.11:8405', 'web-02 10.0.0.12:8405'],
    probe: ['web-01 http://10.0.0.11:80/', 'web-02 http://10.0.0.12:80/'],
    prometheus: ['web-02 127.0.0.1:9090'],
    alertmanager: ['web-02 127.0.0.1:9093'],
  });
  const three = load(base(THREE));
  // node 4, mysqld 2, nginx 2, app 2, haproxy 1, probe 1, prometheus 1, alertmanager 1.
  assert.is(expectedTargetCount(three, three.hosts[3]!), 14);
  const passive = load(base(TWO, 'lb: { mode: active-passive, vip: 10.0.0.10/24, interface: eth0 }\n'));
  assert.equal(scrapeJobs(passive, passive.hosts[1]!).find((j) => j.name === 'probe')!.targets, [{ address: 'http://10.0.0.10:80/', host: 'vip' }]);
});

test('prometheus.yml: read back as YAML, the same jobs and targets, each target labelled with its host', () => {
  const all = files(base(TWO, RECEIVERS));
  const doc = parseYamlText(fileOn(all, 'web-02', '/etc/prometheus/prometheus.yml'));
  assert.is(doc.global.scrape_interval, '5s');
  assert.equal(doc.rule_files, ['/etc/prometheus/tandem-rules.yml']);
  assert.equal(doc.alerting.alertmanagers[0].static_configs[0].targets, ['127.0.0.1:9093']);
  const inv = load(base(TWO, RECEIVERS));
  const want = scrapeJobs(inv, inv.hosts[1]!);
  assert.equal(doc.scrape_configs.map((j: any) => j.job_name), want.map((j) => j.name));
  for (const job of want) {
    const got = doc.scrape_configs.find((j: any) => j.job_name === job.name);
    assert.equal(got.static_configs.map((s: any) => [s.targets[0], s.labels.host]), job.targets.map((t) => [t.address, t.host]), job.name);
  }
  const probe = doc.scrape_configs.find((j: any) => j.job_name === 'probe');
  assert.equal(probe.relabel_configs.at(-1), { target_label: '__address__', replacement: '127.0.0.1:9115' });
  assert.not.ok(all.get('web-01')!.has('/etc/prometheus/prometheus.yml'), 'Prometheus only on the monitor host');
});

test('rules: every alert of the stack, each with a summary naming the host, thresholds and `for` from the inventory', () => {
  const rulesOf = (yaml: string, host = 'web-02') => parseYamlText(fileOn(files(yaml), host, '/etc/prometheus/tandem-rules.yml')).groups[0].rules as any[];
  const rules = rulesOf(base(TWO, `${RECEIVERS}  replica_lag: 45\n  error_ratio: 0.1\n  disk_full_percent: 90\n  cert_expiry_days: 21\n`));
  assert.equal(rules.map((r) => r.alert), [
    'TargetDown', 'ReplicaIOThreadStopped', 'ReplicaSQLThreadStopped', 'ReplicaLagging', 'BackendServerDown',
    'HighErrorRate', 'NginxDown', 'DiskFull', 'SiteDown', 'CertificateExpiring',
  ]);
  for (const r of rules) {
    assert.match(r.annotations.summary, /\{\{ \$labels\.(host|instance) \}\}/, `${r.alert} names what it concerns`);
    if (r.alert !== 'CertificateExpiring') assert.is(r.for, '20s', r.alert);
  }
  const expr = (name: string) => rules.find((r) => r.alert === name).expr as string;
  assert.match(expr('ReplicaLagging'), /> 45$/);
  assert.match(expr('HighErrorRate'), /> 0\.1\s*$/);
  assert.match(expr('DiskFull'), /> 90\s*$/);
  assert.match(expr('CertificateExpiring'), /probe_ssl_earliest_cert_expiry - time\(\)\) \/ 86400 < 21$/);
  // The backend alert concerns the web server that is down, not the load balancer that sees it.
  assert.match(expr('BackendServerDown'), /"host", "\$1", "server"/);
  const passive = rulesOf(base(TWO, 'lb: { mode: active-passive, vip: 10.0.0.10/24, interface: eth0 }\n'));
  assert.ok(passive.some((r) => r.alert === 'SharedAddressHeldByNone' && r.expr === 'probe_success{host="vip"} == 0'));
});

test('alertmanager.yml: webhooks, email and the SMTP password read back exactly, special characters included', () => {
  const doc = parseYamlText(fileOn(files(base(TWO, RECEIVERS)), 'web-02', '/etc/prometheus/alertmanager.yml'));
  assert.equal(doc.receivers[0].webhook_configs, [{ url: HOOK, send_resolved: true }]);
  assert.equal(doc.receivers[0].email_configs, [{ to: "o'brien+ops@example.test", send_resolved: true }]);
  assert.is(doc.global.smtp_auth_password, SPECIAL_PASSWORDS.smtp_password);
  assert.is(doc.global.smtp_auth_username, 'tandem "bot" é');
  assert.is(doc.global.smtp_smarthost, 'smtp.example.test:587');
  assert.is(doc.route.receiver, 'tandem');
  // Without receivers: a receiver that sends nowhere (alerts still show in `tandem status`).
  const bare = parseYamlText(fileOn(files(base(TWO)), 'web-02', '/etc/prometheus/alertmanager.yml'));
  assert.equal(bare.receivers, [{ name: 'tandem' }]);
  assert.is(bare.global, undefined);
});

test('an SMTP user without the secret smtp_password is refused, naming the secrets file and the variable', () => {
  const { smtp_password: _, ...rest } = SECRETS as Record<string, Secret>;
  try {
    files(base(TWO, RECEIVERS), rest as unknown as Secrets);
    assert.unreachable('built without an SMTP password');
  } catch (err) {
    assert.instance(err, SecretsError);
    assert.match((err as Error).message, /monitor\.email\.username is set but there is no SMTP password: put smtp_password in \/inv\/mon\.secrets\.yml or set TANDEM_SECRET_SMTP_PASSWORD/);
  }
});

test("the MySQL exporter's option file holds its password exactly; its account is the host's own", () => {
  const all = files(base(TWO));
  for (const [host, address] of [['web-01', '10.0.0.11'], ['web-02', '10.0.0.12']]) {
    const text = fileOn(all, host!, '/etc/tandem/mysqld-exporter.cnf');
    const values = Object.fromEntries([...text.matchAll(/^(\w+)=(?:"""([\s\S]*?)"""|(.*))$/gm)].map((m) => [m[1], m[2] ?? m[3]]));
    assert.equal(values, { user: 'tandem_exporter', password: SPECIAL_PASSWORDS.db_exporter_password, host: address, port: '3306' });
  }
  assert.throws(() => goIniValue('ends with a quote"'), /cannot hold three " in a row or a " at the end/);
  assert.throws(() => goIniValue('has """ inside'), /cannot hold three "/);
  const inv = load(base(TWO));
  const ids = (host: string) => buildWork(inv, inv.hosts, SECRETS, RECIPES, release).get(host)!.flatMap((w) => w.ops.map((o) => `${w.phase} ${o.id}`));
  assert.ok(ids('web-01').includes('db mysql account tandem_exporter@10.0.0.11'));
  assert.ok(ids('web-02').includes('replication mysql account tandem_exporter@10.0.0.12'));
});

test('exporters listen on the host address; Nginx serves /metrics to monitor hosts only; HAProxy exports on its address', () => {
  const all = files(base(THREE));
  const args = (host: string, service: string) => parseEnvFile(fileOn(all, host, `/etc/default/${service}`)).ARGS;
  assert.is(args('lb-01', 'prometheus-node-exporter'), '--web.listen-address=10.0.0.5:9100');
  assert.is(args('web-02', 'prometheus-nginx-exporter'), '--nginx.scrape-uri=http://127.0.0.1:8080/nginx_status --web.listen-address=10.0.0.12:9113');
  assert.is(args('web-01', 'prometheus-mysqld-exporter'), '--config.my-cnf=/etc/tandem/mysqld-exporter.cnf --web.listen-address=10.0.0.11:9104');
  assert.is(args('mon-01', 'prometheus'), '--web.listen-address=127.0.0.1:9090 --storage.tsdb.retention.time=15d --config.file=/etc/prometheus/prometheus.yml');
  assert.match(args('mon-01', 'prometheus-alertmanager'), /^--web\.listen-address=127\.0\.0\.1:9093 /);
  assert.match(args('mon-01', 'prometheus-blackbox-exporter'), /--web\.listen-address=127\.0\.0\.1:9115$/);

  const site = nginxDirectives(fileOn(all, 'web-01', '/etc/nginx/sites-enabled/tandem.conf')).map((w) => w.join(' '));
  const at = site.indexOf('location = /metrics');
  assert.equal(site.slice(at + 1, at + 3), ['allow 10.0.0.20', 'deny all']);
  const status = site.indexOf('location = /nginx_status');
  assert.equal(site.slice(status + 1, status + 4), ['stub_status', 'allow 127.0.0.1', 'deny all']);

  const haproxy = fileOn(all, 'lb-01', '/etc/haproxy/haproxy.cfg').split('\n').map((l) => haproxyWords(l).join(' '));
  assert.ok(haproxy.includes('bind 10.0.0.5:8405'));
  assert.ok(haproxy.includes('http-request use-service prometheus-exporter if { path /metrics }'));
  assert.ok(haproxy.includes('http-request deny if { path /metrics }'), 'visitors do not get the app metrics through the load balancer');

  // No monitor host: nothing of it anywhere.
  const none = files(base(TWO.replace(', monitor]', ']')));
  assert.not.match(fileOn(none, 'web-01', '/etc/haproxy/haproxy.cfg'), /8405|metrics/);
  assert.not.match(fileOn(none, 'web-01', '/etc/nginx/sites-enabled/tandem.conf'), /metrics|stub_status/);
  assert.not.ok(none.get('web-01')!.has('/etc/default/prometheus-node-exporter'));
});

test('packages: exporters by role when a host monitors, the monitoring stack on monitor hosts only, none without', () => {
  const inv = load(base(THREE));
  const ctx = (name: string) => ({ inventory: inv, host: inv.hosts.find((h) => h.name === name)!, secrets: SECRETS, release });
  const monitoring = (name: string) => hostPackages(RECIPES, ctx(name)).filter((p) => p.startsWith('prometheus'));
  assert.equal(monitoring('lb-01'), ['prometheus-node-exporter']);
  assert.equal(monitoring('web-01'), ['prometheus-mysqld-exporter', 'prometheus-nginx-exporter', 'prometheus-node-exporter']);
  assert.equal(monitoring('mon-01'), ['prometheus', 'prometheus-alertmanager', 'prometheus-blackbox-exporter', 'prometheus-node-exporter']);
  const bare = load(base(TWO.replace(', monitor]', ']')));
  assert.equal(hostPackages(RECIPES, { inventory: bare, host: bare.hosts[0]!, secrets: SECRETS, release }).filter((p) => p.startsWith('prometheus')), []);
});

test('a monitor host given by name, not address, is refused naming the host (Nginx allows addresses only)', () => {
  try {
    // Without the firewall, which refuses any host named rather than addressed before this.
    files(base(TWO.replace('10.0.0.12, roles', 'mon.example.test, roles')) + 'firewall: { enabled: false }\n');
    assert.unreachable('built with a named monitor host');
  } catch (err) {
    assert.instance(err, InventoryError);
    assert.match((err as InventoryError).problems.join('\n'), /\/inv\/mon\.yml: hosts\.web-02\.address: a monitor host needs an IPv4 address, not a name \(mon\.example\.test\)/);
  }
});

test('the monitor section: each bad value is refused with its file, field and reason', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-monitor-'));
  try {
    fs.writeFileSync(path.join(dir, 'id_ed25519'), testPrivateKey(), { mode: 0o600 });
    const cases: [string, RegExp][] = [
      ['monitor: { webhooks: [not-a-url] }', /monitor\.webhooks\[0\]: must be a URL such as http:\/\/10\.0\.0\.5:8080\/alerts/],
      ["monitor: { webhooks: ['http://u:p@10.0.0.5/x'] }", /monitor\.webhooks\[0\]: must not hold a user or password/],
      ["monitor: { webhooks: ['ftp://10.0.0.5/x'] }", /monitor\.webhooks\[0\]: must be an http:\/\/ or https:\/\/ URL/],
      ['monitor: { retention: 15 days }', /monitor\.retention: must be a whole number and a unit h, d, w or y/],
      ['monitor: { scrape_interval: 0 }', /monitor\.scrape_interval: must be at least 1 seconds/],
      ['monitor: { error_ratio: 5 }', /monitor\.error_ratio: must be at most 1/],
      ["monitor: { email: { smarthost: 'smtp.example.test', from: a@b.test, to: [c@d.test] } }", /monitor\.email\.smarthost: must be host:port/],
      ["monitor: { email: { smarthost: 'smtp.example.test:25', from: a@b.test, to: [] } }", /monitor\.email\.to: needs at least one address/],
      ['monitor: { email: { smarthost: "s.test:25", from: "not an address", to: [c@d.test] } }', /monitor\.email\.from: must be an email address/],
      ['monitor: { receivers: [] }', /monitor: unknown field "receivers"/],
    ];
    for (const [extra, why] of cases) {
      const file = path.join(dir, 'mon.yml');
      fs.writeFileSync(file, base(TWO, `${extra}\n`));
      try {
        await loadInventory(file);
        assert.unreachable(`${extra} was accepted`);
      } catch (err) {
        assert.instance(err, InventoryError, `${extra}: ${String(err)}`);
        assert.match((err as InventoryError).problems.join('\n'), why, extra);
        assert.match((err as InventoryError).problems.join('\n'), /mon\.yml: /, 'names the file');
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('active-passive: each lb host reports whether it holds the shared address, every 5 s, for the split-brain alert', () => {
  const all = files(base(TWO, 'lb: { mode: active-passive, vip: 10.0.0.10/24, interface: eth0 }\n'));
  for (const host of ['web-01', 'web-02']) {
    const unit = fileOn(all, host, '/etc/systemd/system/tandem-vip-held.service');
    const exec = unit.split('\n').find((l) => l.startsWith('ExecStart='))!;
    const words = unitExecWords(exec.slice('ExecStart='.length));
    assert.equal(words.slice(0, 2), ['/bin/sh', '-c']);
    assert.is(
      words[2],
      "held=0; ip -o -4 addr show dev eth0 | grep -qF ' 10.0.0.10/' && held=1; printf '# TYPE tandem_vip_held gauge\\ntandem_vip_held %s\\n' \"$held\" > /var/lib/prometheus/node-exporter/tandem_vip.prom.tmp; exec mv /var/lib/prometheus/node-exporter/tandem_vip.prom.tmp /var/lib/prometheus/node-exporter/tandem_vip.prom",
    );
    assert.match(fileOn(all, host, '/etc/systemd/system/tandem-vip-held.timer'), /^OnUnitActiveSec=5s$/m);
  }
  // Active-active: no timer, and one left from an earlier active-passive setup is stopped where installed.
  assert.not.ok(files(base(TWO)).get('web-01')!.has('/etc/systemd/system/tandem-vip-held.timer'));
  const active = load(base(TWO));
  const stop = buildWork(active, active.hosts, SECRETS, RECIPES, release).get('web-01')!.flatMap((w) => w.ops).find((o) => o.id === 'service tandem-vip-held.timer')!;
  const have = { exists: true, enabled: true, active: true, needsDaemonReload: false };
  assert.equal(stop.plan({ get: <T>() => have as T })!.commands.map((c) => (c.kind === 'exec' ? c.argv.join(' ') : c.kind)), [
    'systemctl disable --quiet tandem-vip-held.timer',
    'systemctl stop tandem-vip-held.timer',
  ]);
  assert.is(stop.plan({ get: <T>() => ({ exists: false, enabled: false, active: false, needsDaemonReload: false }) as T }), null);
  const rules = parseYamlText(fileOn(all, 'web-02', '/etc/prometheus/tandem-rules.yml')).groups[0].rules as any[];
  assert.is(rules.find((r) => r.alert === 'SharedAddressHeldByTwo').expr, 'count(tandem_vip_held == 1) > 1');
});


test('with tls: the site probe goes over HTTPS to each lb address, SNI and Host the domain, the chain checked against tls.ca', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-mon-ca-'));
  const ca = path.join(dir, 'root "ca".pem');
  fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const tls = `tls:\n  acme: { directory: 'https://127.0.0.1:14000/dir', email: admin@example.test }\n  ca: '${ca}'\n`;
  const all = files(base(TWO, tls));
  const prom = parseYamlText(fileOn(all, 'web-02', '/etc/prometheus/prometheus.yml'));
  const probe = prom.scrape_configs.find((j: any) => j.job_name === 'probe');
  assert.equal(probe.params.module, ['https_site']);
  assert.equal(probe.static_configs.map((c: any) => c.targets[0]), ['https://10.0.0.11/', 'https://10.0.0.12/']);
  const module = parseYamlText(fileOn(all, 'web-02', '/etc/prometheus/blackbox.yml')).modules.https_site;
  assert.equal(module.http.headers, { Host: 'www.example.test' });
  assert.equal(module.http.tls_config, { server_name: 'www.example.test', ca_file: '/etc/prometheus/site-ca.pem' });
  assert.is(module.http.fail_if_not_ssl, true);
  assert.is(fileOn(all, 'web-02', '/etc/prometheus/site-ca.pem'), fs.readFileSync(ca, 'utf8'));
  // Without tls: plain HTTP on :80, and no https module.
  const plain = files(base(TWO));
  const plainProbe = parseYamlText(fileOn(plain, 'web-02', '/etc/prometheus/prometheus.yml')).scrape_configs.find((j: any) => j.job_name === 'probe');
  assert.equal(plainProbe.params.module, ['http_2xx']);
  assert.equal(plainProbe.static_configs.map((c: any) => c.targets[0]), ['http://10.0.0.11:80/', 'http://10.0.0.12:80/']);
  assert.is(parseYamlText(fileOn(plain, 'web-02', '/etc/prometheus/blackbox.yml')).modules.https_site, undefined);
});

test.run();
