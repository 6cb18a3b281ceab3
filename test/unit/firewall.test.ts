// The firewall as tables: {inventory, facts} -> the ruleset each host gets and the commands that
// load it; the inventory's refusals (special characters, IPv6, host bits); the confirmation over
// a new connection and what happens when none opens.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { parseYaml, toInventory } from '../../src/inventory/load.ts';
import { InventoryError } from '../../src/errors.ts';
import { planFirewall, type FirewallFacts } from '../../src/ops/firewall.ts';
import { parseSshConnection } from '../../src/facts/firewall.ts';
import { nftRuleset, nftString } from '../../src/formats/nft.ts';
import { roleRules, sshRule } from '../../src/firewall/rules.ts';
import { FIREWALL_FILE, NEXT_FILE } from '../../src/firewall/commands.ts';
import { runCommand } from '../../src/engine/commands.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import type { Command } from '../../src/engine/types.ts';
import type { Connection, ExecRequest } from '../../src/ssh/connection.ts';
import type { Inventory } from '../../src/inventory/types.ts';
import type { Secrets } from '../../src/secrets/store.ts';
import { firewall as firewallRecipe } from '../../recipes/firewall.ts';
import { expectedFromHere, parsePathProbe, pathProbeScript, portOk, stackPaths } from '../../src/verify/firewall.ts';

const HEAD = `name: fw
domain: www.example.test
ssh: { user: root, key: id_ed25519 }
`;
const TWO = `hosts:
  web-01: { address: 10.0.0.11, roles: [lb, web, app, db-primary] }
  web-02: { address: 10.0.0.12, roles: [lb, web, app, db-replica] }
`;
const SPLIT = `hosts:
  lb-01: { address: 10.0.0.5, roles: [lb] }
  app-01: { address: 10.0.0.21, roles: [web, app] }
  db-01: { address: 10.0.0.31, roles: [db-primary] }
  db-02: { address: 10.0.0.32, roles: [db-replica] }
  mon-01: { address: 10.0.0.41, roles: [monitor] }
`;

const load = (yaml: string): Inventory => toInventory(parseYaml(HEAD + yaml, 'fw.yml'), '/inv/fw.yml', 'fw.yml');
const client = { address: '10.0.0.1', port: 22 };

/** The accept lines of the host's ruleset after the fixed ones (loopback, ICMP, DHCPv6). */
function ruleLines(inv: Inventory, name: string, c = client): string[] {
  const host = inv.hosts.find((h) => h.name === name)!;
  const text = nftRuleset([sshRule(inv, host, c)!, ...roleRules(inv, host)]);
  return text.split('\n').filter((l) => l.includes(' comment ')).map((l) => l.trim());
}

const CASES: { name: string; yaml: string; host: string; expected: string[] }[] = [
  {
    name: 'two servers: ssh from this machine; http(s) from anywhere; nginx and the database from the other host only',
    yaml: TWO,
    host: 'web-01',
    expected: [
      'ip saddr 10.0.0.1 tcp dport 22 accept comment "ssh from this machine (firewall.admin unset)"',
      'tcp dport 80 accept comment "http from anywhere (lb)"',
      'tcp dport 443 accept comment "https from anywhere (lb)"',
      'ip saddr 10.0.0.12 tcp dport 8080 accept comment "nginx from the lb hosts"',
      'ip saddr 10.0.0.12 tcp dport 3306 accept comment "database from the other db hosts and the app hosts"',
    ],
  },
  {
    name: 'split roles, the lb-only host: http(s), and haproxy metrics and the node exporter for the monitor host',
    yaml: SPLIT,
    host: 'lb-01',
    expected: [
      'ip saddr 10.0.0.1 tcp dport 22 accept comment "ssh from this machine (firewall.admin unset)"',
      'tcp dport 80 accept comment "http from anywhere (lb)"',
      'tcp dport 443 accept comment "https from anywhere (lb)"',
      'ip saddr 10.0.0.41 tcp dport 9100 accept comment "node exporter from the monitor hosts"',
      'ip saddr 10.0.0.41 tcp dport 8405 accept comment "haproxy metrics from the monitor hosts"',
    ],
  },
  {
    name: 'split roles, the app host: nginx from the lb host only; no app port, no database',
    yaml: SPLIT,
    host: 'app-01',
    expected: [
      'ip saddr 10.0.0.1 tcp dport 22 accept comment "ssh from this machine (firewall.admin unset)"',
      'ip saddr 10.0.0.5 tcp dport 8080 accept comment "nginx from the lb hosts"',
      'ip saddr 10.0.0.41 tcp dport 9100 accept comment "node exporter from the monitor hosts"',
      'ip saddr 10.0.0.41 tcp dport 9113 accept comment "nginx exporter from the monitor hosts"',
      'ip saddr 10.0.0.41 tcp dport 8080 accept comment "app metrics (through nginx) from the monitor hosts"',
    ],
  },
  {
    name: 'split roles, the primary: the database from the app host and the replica; the mysqld exporter for the monitor',
    yaml: SPLIT,
    host: 'db-01',
    expected: [
      'ip saddr 10.0.0.1 tcp dport 22 accept comment "ssh from this machine (firewall.admin unset)"',
      'ip saddr { 10.0.0.21, 10.0.0.32 } tcp dport 3306 accept comment "database from the other db hosts and the app hosts"',
      'ip saddr 10.0.0.41 tcp dport 9100 accept comment "node exporter from the monitor hosts"',
      'ip saddr 10.0.0.41 tcp dport 9104 accept comment "mysqld exporter from the monitor hosts"',
    ],
  },
  {
    name: 'the monitor host itself: only ssh (Prometheus and Alertmanager listen on loopback)',
    yaml: SPLIT,
    host: 'mon-01',
    expected: ['ip saddr 10.0.0.1 tcp dport 22 accept comment "ssh from this machine (firewall.admin unset)"'],
  },
  {
    name: 'active-passive: VRRP from the other lb host',
    yaml: TWO + 'lb: { mode: active-passive, vip: 10.0.0.10/24, interface: eth0 }\n',
    host: 'web-02',
    expected: [
      'ip saddr 10.0.0.1 tcp dport 22 accept comment "ssh from this machine (firewall.admin unset)"',
      'tcp dport 80 accept comment "http from anywhere (lb)"',
      'tcp dport 443 accept comment "https from anywhere (lb)"',
      'ip saddr 10.0.0.11 tcp dport 8080 accept comment "nginx from the lb hosts"',
      'ip saddr 10.0.0.11 tcp dport 3306 accept comment "database from the other db hosts and the app hosts"',
      'ip saddr 10.0.0.11 meta l4proto 112 accept comment "vrrp between the lb hosts (active-passive)"',
    ],
  },
  {
    name: 'firewall.admin with IPv4 and IPv6 networks, and allow rules (udp, any, IPv6)',
    yaml:
      TWO +
      `firewall:
  admin: [192.168.1.0/24, "2001:db8::/32", 10.9.9.9]
  allow:
    - { port: 51820, protocol: udp, from: [any] }
    - { port: 9000, from: ["2001:db8:1::7", 172.16.0.0/12] }
`,
    host: 'web-02',
    expected: [
      'ip saddr { 192.168.1.0/24, 10.9.9.9 } tcp dport 22 accept comment "ssh from firewall.admin"',
      'ip6 saddr 2001:db8::/32 tcp dport 22 accept comment "ssh from firewall.admin"',
      'tcp dport 80 accept comment "http from anywhere (lb)"',
      'tcp dport 443 accept comment "https from anywhere (lb)"',
      'ip saddr 10.0.0.11 tcp dport 8080 accept comment "nginx from the lb hosts"',
      'ip saddr 10.0.0.11 tcp dport 3306 accept comment "database from the other db hosts and the app hosts"',
      'udp dport 51820 accept comment "firewall.allow[0]"',
      'ip saddr 172.16.0.0/12 tcp dport 9000 accept comment "firewall.allow[1]"',
      'ip6 saddr 2001:db8:1::7 tcp dport 9000 accept comment "firewall.allow[1]"',
    ],
  },
];

for (const c of CASES) {
  test(`ruleset: ${c.name}`, () => {
    assert.equal(ruleLines(load(c.yaml), c.host), c.expected);
  });
}

test('ruleset: one transaction that replaces only table inet tandem; input policy drop; established, loopback, ICMP(v6) first', () => {
  const inv = load(TWO);
  const text = nftRuleset([sshRule(inv, inv.hosts[0]!, client)!]);
  const lines = text.split('\n').map((l) => l.trim());
  assert.equal(lines.slice(1, 4), ['table inet tandem {}', 'delete table inet tandem', 'table inet tandem {']);
  assert.not.ok(/flush ruleset/.test(text), 'other tables are left alone');
  assert.ok(lines.includes('type filter hook input priority filter; policy drop;'));
  const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
  assert.ok(at('ct state established,related accept') < at('ip saddr 10.0.0.1 tcp dport 22'));
  assert.ok(at('iif "lo" accept') > 0 && at('icmp type') > 0 && at('icmpv6 type') > 0);
  assert.match(text, /icmpv6 type \{[^}]*nd-neighbor-solicit[^}]*nd-neighbor-advert[^}]*\}/);
});

test('ssh rule: on the port the server saw the connection arrive on; from an IPv6 client as ip6', () => {
  const inv = load(TWO);
  const lines = ruleLines(inv, 'web-01', { address: '2001:db8::5', port: 2222 });
  assert.is(lines[0], 'ip6 saddr 2001:db8::5 tcp dport 2222 accept comment "ssh from this machine (firewall.admin unset)"');
});

test('SSH_CONNECTION: client address and server port; anything else is unknown', () => {
  assert.equal(parseSshConnection('10.79.0.1 53412 10.79.0.11 22\n'), { address: '10.79.0.1', port: 22 });
  assert.equal(parseSshConnection('2001:db8::1 53412 2001:db8::11 2222\n'), { address: '2001:db8::1', port: 2222 });
  assert.is(parseSshConnection('\n'), undefined);
  assert.is(parseSshConnection('$(reboot) 1 2 22'), undefined);
});

/** Loading must be refused with exactly this problem. */
function refused(yaml: string): string[] {
  try {
    load(yaml);
  } catch (err) {
    assert.instance(err, InventoryError);
    return (err as InventoryError).problems;
  }
  assert.unreachable('loaded but should have been refused');
  return [];
}

const REFUSALS: { yaml: string; problem: string }[] = [
  { yaml: 'firewall: { admin: ["10.0.0.1; flush ruleset"] }', problem: 'fw.yml: firewall.admin[0]: not an IPv4 or IPv6 address or network: "10.0.0.1; flush ruleset"' },
  { yaml: 'firewall: { admin: [10.0.0.1/8] }', problem: 'fw.yml: firewall.admin[0]: "10.0.0.1/8": the address has bits set after the /8 prefix (the network is 10.0.0.0/8)' },
  { yaml: 'firewall: { admin: ["2001:db8::1/32"] }', problem: 'fw.yml: firewall.admin[0]: "2001:db8::1/32": the address has bits set after the /32 prefix (the network is 2001:db8::/32)' },
  { yaml: 'firewall: { admin: ["fe80::1%eth0"] }', problem: 'fw.yml: firewall.admin[0]: "fe80::1%eth0": an address with a zone (%) cannot be a rule\'s source' },
  { yaml: 'firewall: { admin: [10.0.0.0/33] }', problem: 'fw.yml: firewall.admin[0]: "10.0.0.0/33": the prefix must be a number from 0 to 32' },
  { yaml: 'firewall: { admin: [] }', problem: 'fw.yml: firewall.admin: must name at least one address or network' },
  { yaml: 'firewall: { admin: 10.0.0.1 }', problem: 'fw.yml: firewall.admin: must be a list of addresses or networks' },
  { yaml: 'firewall: { admin: [any] }', problem: 'fw.yml: firewall.admin[0]: not an IPv4 or IPv6 address or network: "any"' },
  { yaml: 'firewall: { allow: [{ port: 0, from: [any] }] }', problem: 'fw.yml: firewall.allow[0].port: must be a port number (1-65535)' },
  { yaml: 'firewall: { allow: [{ port: 53, protocol: icmp, from: [any] }] }', problem: 'fw.yml: firewall.allow[0].protocol: unknown protocol "icmp" (expected tcp or udp)' },
  { yaml: 'firewall: { allow: [{ port: 53 }] }', problem: 'fw.yml: firewall.allow[0].from: is required' },
  { yaml: 'firewall: { allow: [{ port: 53, from: [] }] }', problem: 'fw.yml: firewall.allow[0].from: must name at least one address or network, or [any]' },
  { yaml: 'firewall: { allow: [{ port: 53, from: [\'10.0.0.0/8"\'] }] }', problem: 'fw.yml: firewall.allow[0].from[0]: "10.0.0.0/8\\"": the prefix must be a number from 0 to 32, or any' },
  { yaml: 'firewall: { allow: [{ port: 53, from: [any], to: x }] }', problem: 'fw.yml: firewall.allow[0]: unknown field "to"' },
  { yaml: 'firewall: { enabled: "no" }', problem: 'fw.yml: firewall.enabled: must be true or false' },
  { yaml: 'firewall: { rollback_after: 5 }', problem: 'fw.yml: firewall.rollback_after: must be at least 10 seconds' },
];

for (const r of REFUSALS) {
  test(`inventory refuses ${r.yaml}`, () => {
    const problems = refused(TWO + r.yaml + '\n');
    assert.ok(problems.some((p) => p.startsWith(r.problem)), problems.join('\n'));
  });
}

test('inventory: a host given by name needs firewall.enabled false (rules name addresses)', () => {
  const named = 'hosts:\n  web-01: { address: db1.example.net, roles: [lb, web, app, db-primary] }\n';
  assert.equal(refused(named), [
    'fw.yml: hosts.web-01.address: the firewall\'s rules need IP addresses, not the name db1.example.net (write the address, or set firewall.enabled: false)',
  ]);
  assert.is(load(named + 'firewall: { enabled: false }\n').firewall.enabled, false);
});

test('inventory: the firewall is on by default, admin unset, rollback after 30 s', () => {
  assert.equal(load(TWO).firewall, { enabled: true, allow: [], rollbackSeconds: 30 });
});

test('nft strings: a double quote, a backslash or a newline is refused, never written', () => {
  assert.is(nftString('firewall.allow[0]'), '"firewall.allow[0]"');
  for (const bad of ['a"b', 'a\\b', 'a\nb']) assert.throws(() => nftString(bad), /an nftables ruleset cannot hold/);
});

// The op, as a table of facts.
const inv = load(TWO);
const web01 = inv.hosts[0]!;
const wanted = nftRuleset([sshRule(inv, web01, client)!, ...roleRules(inv, web01)]);
const LISTING = 'table inet tandem {\n\tchain input {\n\t\ttcp dport 80 accept\n\t}\n}\n';
const file = (content?: string) => (content === undefined ? { exists: false } : { exists: true, kind: 'file' as const, content });
const facts = (f: Partial<FirewallFacts>): FirewallFacts => ({ live: LISTING, installed: file(wanted), loaded: file(LISTING), client, ...f });

test('op: nothing to do when the confirmed file is the wanted one and the live table is as loaded', () => {
  assert.is(planFirewall(inv, web01, facts({})), null);
});

test('op: a fresh host gets the file written aside, a checked load behind a rollback, and a confirmation over a new connection', () => {
  const change = planFirewall(inv, web01, facts({ live: undefined, installed: file(), loaded: file() }))!;
  assert.is(change.summary, 'load the firewall (table inet tandem)');
  assert.match(change.diff!, /\+\t\tip saddr 10\.0\.0\.1 tcp dport 22 accept/);
  const [put, load_, confirm] = change.commands as [Extract<Command, { kind: 'put' }>, Extract<Command, { kind: 'script' }>, Extract<Command, { kind: 'script' }>];
  assert.is(put.path, NEXT_FILE);
  assert.is(put.content, wanted);
  // Checked first, the table saved, the rollback armed, then loaded.
  const steps = ['nft -c -f', 'nft list table inet tandem', 'systemd-run', 'nft -f /var/lib'].map((s) => load_.script.indexOf(s));
  assert.ok(steps.every((at, i) => at >= 0 && (i === 0 || at > steps[i - 1]!)), load_.script);
  assert.match(load_.script, /--on-active=30s/);
  assert.ok(confirm.newConnection, 'the confirmation runs over a new connection');
  assert.match(confirm.newConnection!.refused, /the rule "ssh from this machine \(firewall\.admin unset\)" admits tcp port 22 from 10\.0\.0\.1 only/);
  assert.match(confirm.script, new RegExp(`${FIREWALL_FILE}`));
});

test('op: a rule added by hand inside the table is drift: shown as a diff and repaired', () => {
  const live = LISTING.replace('\t\ttcp dport 80 accept\n', '\t\ttcp dport 80 accept\n\t\ttcp dport 9999 accept\n');
  const change = planFirewall(inv, web01, facts({ live }))!;
  assert.is(change.summary, 'repair the firewall: table inet tandem was changed since tandem loaded it');
  assert.match(change.diff!, /^-\t\ttcp dport 9999 accept$/m);
  assert.is(change.commands.length, 3);
});

test('op: a table deleted by hand (nft flush ruleset) is repaired too', () => {
  assert.is(planFirewall(inv, web01, facts({ live: undefined }))!.summary, 'repair the firewall: table inet tandem was removed since tandem loaded it');
});

test('op: without firewall.admin and with no SSH_CONNECTION, it refuses instead of guessing', () => {
  assert.throws(() => planFirewall(inv, web01, facts({ client: undefined })), /set firewall\.admin/);
});

/** A connection that records its commands; `reopen` opens another like it, or fails. */
function fakeConnection(log: string[], name: string, reopens: boolean): Connection {
  return {
    host: { name: 'web-01', address: '10.0.0.11', port: 22, roles: [] },
    roundTrips: 0,
    backupRoot: '/b',
    running: () => [],
    async exec(req: ExecRequest) {
      log.push(`${name}: ${req.describe}`);
      return { exitCode: 0, stdout: '', stderr: '', durationMs: 0 };
    },
    put: async () => ({ exitCode: 0, stdout: '', stderr: '', durationMs: 0 }),
    forward: async () => {
      throw new Error('no');
    },
    close: async () => void log.push(`${name}: closed`),
    reopen: async () => {
      if (!reopens) throw new Error('Timed out while waiting for handshake');
      return fakeConnection(log, 'new', false);
    },
  };
}

const confirmCommand = (): Command => ({
  kind: 'script',
  script: 'true',
  describe: 'confirm',
  newConnection: { refused: 'the new rules let no SSH in', otherwise: { kind: 'script', script: 'true', describe: 'roll back now' } },
});

test('a command over a new connection runs there, and that connection is closed after it', async () => {
  const log: string[] = [];
  await runCommand(fakeConnection(log, 'run', true), confirmCommand(), new Redactor([]));
  assert.equal(log, ['new: confirm', 'new: closed']);
});

test('no new connection: the fallback runs over the open one, and the failure says what it means and why', async () => {
  const log: string[] = [];
  try {
    await runCommand(fakeConnection(log, 'run', false), confirmCommand(), new Redactor([]));
    assert.unreachable('should fail');
  } catch (err) {
    assert.match((err as Error).message, /^the new rules let no SSH in Done over the open connection: roll back now\. \(the new connection: Timed out while waiting for handshake\)$/);
  }
  assert.equal(log, ['run: roll back now']);
});
test('firewall.enabled false: no nftables package; the boot unit, its file and the table go, only when present', () => {
  const off = load(TWO + 'firewall: { enabled: false }\n');
  const ctx = { inventory: off, host: off.hosts[0]!, secrets: {} as Secrets };
  assert.equal(firewallRecipe.packages!(ctx), []);
  const ops = firewallRecipe.build(ctx).flatMap((w) => w.ops);
  assert.equal(ops.map((o) => o.id), ['service tandem-firewall', 'absent /etc/systemd/system/tandem-firewall.service', 'no firewall table inet tandem']);
  const remove = ops[2]!;
  const factsOf = (live: string | undefined, exists: boolean) => ({ get: <T>(f: { id: string }) => (f.id === 'firewall:live-table' ? live : { exists }) as T });
  assert.is(remove.plan(factsOf(undefined, false)), null);
  const change = remove.plan(factsOf(LISTING, true))!;
  assert.match((change.commands[0] as Extract<Command, { kind: 'script' }>).script, /^printf '%s\\n' 'table inet tandem \{\}' 'delete table inet tandem' \| nft -f -$/m);
});

// verify's parts.
test('verify: from this machine, ssh and http(s) must get through, every other port the stack uses must be dropped', () => {
  const two = load(TWO);
  const table = Object.fromEntries(expectedFromHere(two, two.hosts[0]!, client));
  assert.equal(table, { 22: 'allowed', 80: 'allowed', 443: 'allowed', 3000: 'blocked', 3306: 'blocked', 8080: 'blocked', 8404: 'blocked', 8405: 'blocked', 9100: 'blocked', 9104: 'blocked', 9113: 'blocked' });
  // A control machine outside firewall.admin: ssh is expected blocked, so verify says it honestly.
  const admin = load(TWO + 'firewall: { admin: [192.168.0.0/16, "2001:db8::/32"] }\n');
  assert.is(expectedFromHere(admin, admin.hosts[0]!, client).get(22), 'blocked');
  assert.is(expectedFromHere(admin, admin.hosts[0]!, { address: '192.168.7.9', port: 22 }).get(22), 'allowed');
  assert.is(expectedFromHere(admin, admin.hosts[0]!, { address: '2001:db8:5::1', port: 22 }).get(22), 'allowed');
  assert.is(expectedFromHere(admin, admin.hosts[0]!, { address: '2001:db9::1', port: 22 }).get(22), 'blocked');
});

test('verify: allowed passes when the port is reached (open, or closed: nothing listens); blocked only when dropped', () => {
  assert.equal(['open', 'closed', 'filtered'].map((s) => portOk('allowed', s as never)), [true, true, false]);
  assert.equal(['open', 'closed', 'filtered'].map((s) => portOk('blocked', s as never)), [false, false, true]);
});

test('verify: the paths the stack needs: replica and app hosts to the primary database, each lb to each Nginx', () => {
  const split = load(SPLIT);
  const paths = Object.fromEntries([...stackPaths(split, split.hosts)].map(([from, ts]) => [from, ts.map((t) => `${t.to.name}:${t.port}`)]));
  assert.equal(paths, { 'lb-01': ['app-01:8080'], 'app-01': ['db-01:3306'], 'db-02': ['db-01:3306'] });
  const script = pathProbeScript([{ to: split.hosts[2]!, port: 3306 }]);
  assert.match(script, /timeout 3 bash -c 'exec 3<>"\/dev\/tcp\/\$0\/\$1"' 10\.0\.0\.31 3306/);
  assert.equal([...parsePathProbe('10.0.0.31 3306 ok\n10.0.0.21 8080 failed\n')], [['10.0.0.31 3306', true], ['10.0.0.21 8080', false]]);
});

test.run();
