// The pure parts of bench/: the figures (median, spread, ratio), the package list read from the
// recipes, the Ansible inventory generated from tandem's, and the PLAY RECAP check.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, ratio, seconds, summarize } from '../../bench/stats.ts';
import { packagesByHost } from '../../bench/packages.ts';
import { ansibleInventory } from '../../bench/ansible-inventory.ts';
import { parseRecap, recapProblem } from '../../bench/ansible-recap.ts';
import { buildWork, RECIPES } from '../../recipes/index.ts';
import { Secret } from '../../src/secrets/secret.ts';
import { loadInventory } from '../../src/inventory/load.ts';
import { testInventory, TWO_SERVERS } from '../fixtures/inventory.ts';

const summaries: Array<[number[], { median: number; min: number; max: number }]> = [
  [[5], { median: 5, min: 5, max: 5 }],
  [[3, 1, 2], { median: 2, min: 1, max: 3 }],
  [[4, 1, 3, 2], { median: 2.5, min: 1, max: 4 }],
  [[900, 1200, 1000, 1100, 5000], { median: 1100, min: 900, max: 5000 }],
];
for (const [samples, expected] of summaries) {
  test(`summarize ${JSON.stringify(samples)}: median ${expected.median}, spread ${expected.min}-${expected.max}`, () => {
    assert.equal(summarize(samples), { runs: samples.length, ...expected });
  });
}

test('summarize refuses no samples; the samples given are not reordered', () => {
  assert.throws(() => summarize([]), /no samples/);
  const samples = [3, 1, 2];
  summarize(samples);
  assert.equal(samples, [3, 1, 2]);
});

test('seconds, describe and ratio: what the report prints', () => {
  assert.is(seconds(950), '0.95 s');
  assert.is(seconds(61_250), '61.3 s');
  assert.is(seconds(125_000), '125 s');
  assert.is(describe(summarize([910, 950, 1020])), '0.95 s (0.91-1.02 s, 3 runs)');
  assert.is(describe(summarize([950])), '0.95 s (1 run)');
  assert.is(ratio(summarize([3000]), summarize([1000, 1000])), '3.00x');
  assert.is(ratio(summarize([3000]), undefined), undefined);
  assert.is(ratio(summarize([3000]), summarize([0])), undefined);
});

const secrets = {
  db_app_password: new Secret('app-password-0001'),
  db_replication_password: new Secret('repl-password-0002'),
  db_verify_password: new Secret('verify-password-0003'),
  db_exporter_password: new Secret('exporter-password-0004'),
};
const release = { id: '1.0.0-abc', version: '1.0.0', tarball: '/cache/1.0.0-abc.tgz' };

test("packages: each host's list comes from its recipes (a replica without lb gets no haproxy)", () => {
  const inv = testInventory(`${TWO_SERVERS}  web-03: { address: 10.0.0.13, roles: [web, app, db-replica] }\n`);
  const packages = packagesByHost(buildWork(inv, inv.hosts, secrets, RECIPES, release));
  assert.equal(packages.get('web-01'), ['ca-certificates', 'curl', 'haproxy', 'mariadb-client', 'mariadb-server', 'nftables', 'nginx', 'nodejs', 'socat', 'tzdata']);
  assert.equal(packages.get('web-03'), ['ca-certificates', 'curl', 'mariadb-client', 'mariadb-server', 'nftables', 'nginx', 'nodejs', 'tzdata']);
});

test('ansible inventory: groups are the roles, host and stack values come from the inventory', () => {
  const inv = testInventory(`${TWO_SERVERS}  web-03: { address: 10.0.0.13, port: 2222, roles: [web, app, db-replica] }\napt: { proxy: http://10.0.0.1:3142 }\n`);
  const packages = packagesByHost(buildWork(inv, inv.hosts, secrets, RECIPES, release));
  const doc = ansibleInventory(inv, { packages, release, replicationTls: true }) as { all: { vars: Record<string, unknown>; hosts: Record<string, Record<string, unknown>>; children: Record<string, { hosts: Record<string, null> }> } };
  const groups = Object.fromEntries(Object.entries(doc.all.children).map(([g, v]) => [g, Object.keys(v.hosts)]));
  assert.equal(groups, { lb: ['web-01', 'web-02'], web: ['web-01', 'web-02', 'web-03'], app: ['web-01', 'web-02', 'web-03'], db_primary: ['web-01'], db_replica: ['web-02', 'web-03'] });
  assert.equal(doc.all.hosts['web-03'], { ansible_host: '10.0.0.13', ansible_port: 2222, server_id: 167772173, roles_csv: 'web,app,db-replica', packages: packages.get('web-03') });
  assert.is(doc.all.vars.db_primary_address, '10.0.0.11');
  assert.is(doc.all.vars.apt_proxy, 'http://10.0.0.1:3142');
  assert.is(doc.all.vars.monitor_privileges, 'BINLOG MONITOR,SLAVE MONITOR');
  assert.is(doc.all.vars.release_tarball, '/cache/1.0.0-abc.tgz');
  assert.is(doc.all.vars.ansible_ssh_private_key_file, '/x/k');
  assert.match(String(doc.all.vars.ansible_ssh_common_args), /UserKnownHostsFile=\/x\/i\.known_hosts -o StrictHostKeyChecking=yes/);
  for (const secret of Object.values(secrets)) assert.not.match(JSON.stringify(doc), secret.reveal(), 'no secret in the generated inventory');
});

test('ansible inventory: refuses MySQL (the playbook covers MariaDB only)', () => {
  const inv = testInventory(`${TWO_SERVERS}db: { engine: mysql }\n`);
  assert.throws(() => ansibleInventory(inv, { packages: new Map(), release, replicationTls: false }), /db\.engine/);
});

test('every variable the playbook and its templates use is defined by the generated inventory or the secrets', async () => {
  const dir = path.resolve(import.meta.dirname, '../../bench/ansible');
  const text = ['site.yml', 'templates/tandem.cnf.j2', 'templates/site.conf.j2', 'templates/haproxy.cfg.j2', 'templates/app.env.j2', 'templates/tandem-app.service.j2']
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
  parse(readFileSync(path.join(dir, 'site.yml'), 'utf8'));
  const inv = await loadInventory(path.resolve(import.meta.dirname, '../../inventory/lab-16.yml'), { requireKey: false });
  const packages = packagesByHost(buildWork(inv, inv.hosts, secrets, RECIPES, release));
  const doc = ansibleInventory(inv, { packages, release, replicationTls: true }) as { all: { vars: object; hosts: Record<string, object> } };
  const known = new Set([...Object.keys(doc.all.vars), ...Object.keys(doc.all.hosts['web-01']!), ...Object.keys(secrets), 'inventory_hostname', 'groups', 'hostvars', 'item', 'replica']);
  for (const m of text.matchAll(/{% for ([a-z_]+) in/g)) known.add(m[1]!);
  const used = new Set([...text.matchAll(/\{\{-?\s*([a-z_]+)/g)].map((m) => m[1]!));
  assert.equal([...used].filter((v) => !known.has(v)), []);
});

const RECAP = `PLAY RECAP *********************************************************************
web-01                     : ok=31   changed=0    unreachable=0    failed=0    skipped=6    rescued=0    ignored=0
web-02                     : ok=35   changed=2    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0
`;

test('ansible recap: read per host; a no-op with changes, a failure or a missing host is named', () => {
  const recap = parseRecap(`TASK [x]\nok: [web-01]\n\n${RECAP}`);
  assert.equal(recap.get('web-02'), { ok: 35, changed: 2, unreachable: 0, failed: 0 });
  assert.is(recapProblem(recap, ['web-01', 'web-02'], false), undefined);
  assert.is(recapProblem(recap, ['web-01', 'web-02'], true), 'not a no-op: changes on web-02 (2)');
  assert.is(recapProblem(recap, ['web-01', 'web-03'], false), 'no recap for web-03');
  const failed = parseRecap(RECAP.replace('failed=0    skipped=6', 'failed=1    skipped=6'));
  assert.is(recapProblem(failed, ['web-01', 'web-02'], false), 'failed or unreachable: web-01');
  assert.equal(parseRecap('ERROR! the playbook could not be found'), new Map());
});

test.run();
