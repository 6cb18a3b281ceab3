// The keepalived recipe: active-passive gives every lb host the same VRRP instance with its own
// priority and its peers; active-active only stops a keepalived left from before.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { keepalived } from '../../recipes/keepalived.ts';
import { KEEPALIVED_CONFIG } from '../../src/stack/names.ts';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import type { FileState } from '../../src/facts/file.ts';
import type { Secrets } from '../../src/secrets/store.ts';
import type { Op } from '../../src/engine/types.ts';
import { holdsAddress } from '../../src/facts/address.ts';

const hosts: HostSpec[] = [
  { name: 'lb-a', address: '10.0.0.1', port: 22, roles: ['lb', 'web', 'app', 'db-primary'] },
  { name: 'lb-b', address: '10.0.0.2', port: 22, roles: ['lb', 'web', 'app', 'db-replica'] },
  { name: 'lb-c', address: '10.0.0.3', port: 22, roles: ['lb'] },
  { name: 'web-d', address: '10.0.0.4', port: 22, roles: ['web', 'app'] },
];
const failover = { vip: '10.0.0.10', prefix: 24, interface: 'ens3', routerId: 42 };
const inventory = (lb: Inventory['lb']) =>
  ({ hosts, lb, apt: { cacheValidSeconds: 3600 } }) as unknown as Inventory;
const build = (inv: Inventory, name: string) =>
  keepalived.build({ inventory: inv, host: hosts.find((h) => h.name === name)!, secrets: {} as Secrets });

/** The config the template op would write on a host that has none. */
function config(ops: Op[]): string {
  const op = ops.find((o) => o.id === `template ${KEEPALIVED_CONFIG}`)!;
  const absent: FileState = { exists: false } as FileState;
  const put = op.plan({ get: <T>() => absent as T })!.commands.find((c) => c.kind === 'put')!;
  return String(put.kind === 'put' ? put.content : '');
}

test('active-passive: the first lb host is MASTER; each host names its own address and its peers', () => {
  const inv = inventory({ algorithm: 'roundrobin', mode: 'active-passive', failover });
  const [a] = build(inv, 'lb-a');
  assert.is(a!.phase, 'lb');
  assert.equal(a!.ops.map((o) => o.id), [`template ${KEEPALIVED_CONFIG}`, 'service keepalived']);
  assert.equal(a!.handlers?.map((h) => h.id), ['reload keepalived']);
  const ca = config(a!.ops);
  assert.match(ca, /state MASTER\n\s+interface ens3\n\s+virtual_router_id 42\n\s+priority 150\n/);
  assert.match(ca, /unicast_src_ip 10\.0\.0\.1\n\s+unicast_peer \{\n\s+10\.0\.0\.2\n\s+10\.0\.0\.3\n\s+\}/);
  assert.match(ca, /virtual_ipaddress \{\n\s+10\.0\.0\.10\/24 dev ens3\n/);
  assert.match(ca, /script "\/usr\/bin\/systemctl is-active --quiet haproxy"/);
  const cc = config(build(inv, 'lb-c')[0]!.ops);
  assert.match(cc, /state BACKUP\n\s+interface ens3\n\s+virtual_router_id 42\n\s+priority 130\n/);
  assert.match(cc, /unicast_src_ip 10\.0\.0\.3\n\s+unicast_peer \{\n\s+10\.0\.0\.1\n\s+10\.0\.0\.2\n\s+\}/);
});

test('hosts without the lb role get nothing', () => {
  assert.equal(build(inventory({ algorithm: 'roundrobin', mode: 'active-passive', failover }), 'web-d'), []);
  assert.equal(build(inventory({ algorithm: 'roundrobin', mode: 'active-active' }), 'web-d'), []);
});

test('active-active: only a keepalived that is installed is stopped and disabled', () => {
  const [w] = build(inventory({ algorithm: 'roundrobin', mode: 'active-active' }), 'lb-a');
  assert.equal(w!.ops.map((o) => o.id), ['service keepalived']);
  const op = w!.ops[0]!;
  assert.is(op.plan({ get: <T>() => ({ exists: false, enabled: false, active: false }) as T }), null);
  assert.is(op.plan({ get: <T>() => ({ exists: true, enabled: true, active: true }) as T })!.summary, 'disable and stop keepalived');
});

test('verify reads who holds the shared address from `ip -o -4 addr show`', () => {
  const out = [
    '2: eth0    inet 10.77.0.11/24 brd 10.77.0.255 scope global eth0\\       valid_lft forever preferred_lft forever',
    '2: eth0    inet 10.77.0.10/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever',
  ].join('\n');
  assert.ok(holdsAddress(out, '10.77.0.10'));
  assert.ok(holdsAddress(out, '10.77.0.11'));
  assert.not.ok(holdsAddress(out, '10.77.0.1'), 'a prefix of an address is not the address');
  assert.not.ok(holdsAddress(out.split('\n')[0]!, '10.77.0.10'));
  assert.not.ok(holdsAddress('', '10.77.0.10'));
});

test.run();
