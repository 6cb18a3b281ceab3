// Who may reach what on a host, from the roles of the inventory: the rules as data, before any
// syntax. The ruleset writer (src/formats/nft.ts), verify's probes and the docs' table read them.
import type { HostSpec, Inventory } from '../inventory/types.ts';
import {
  HAPROXY_METRICS_PORT,
  HTTP_PORT,
  HTTPS_PORT,
  MYSQL_PORT,
  MYSQLD_EXPORTER_PORT,
  NGINX_EXPORTER_PORT,
  NGINX_PORT,
  NODE_EXPORTER_PORT,
} from '../stack/names.ts';
import { hasRole, isDbHost, withRole } from '../stack/roles.ts';
import { parseSource, sourcesOf, type Source } from './address.ts';
import { servesAppMetrics } from '../monitor/targets.ts';

export interface Rule {
  protocol: 'tcp' | 'udp' | 'vrrp';
  /** tcp and udp only. */
  port?: number;
  from: Source[] | 'any';
  /** Why the rule exists, in words: the rule's comment in the ruleset, and what a failure names. */
  why: string;
}

/** The control machine as a server sees it (`$SSH_CONNECTION`): where it connects from, and to which port. */
export interface SshClient {
  address: string;
  port: number;
}

export const SSH_RULE = 'ssh from firewall.admin';

const addressesOf = (hosts: readonly HostSpec[], self: HostSpec): Source[] =>
  hosts.filter((h) => h.name !== self.name).map((h) => parseSource(h.address).source!);

/**
 * The SSH rule: from firewall.admin, or else from the address this machine connects from; on the
 * port the server saw the connection arrive on (behind a port forward it differs from the inventory's).
 */
export function sshRule(inv: Inventory, host: HostSpec, client: SshClient | undefined): Rule | undefined {
  const admin = inv.firewall.admin ?? (client ? [client.address] : undefined);
  if (!admin) return undefined;
  return { protocol: 'tcp', port: client?.port ?? host.port, from: sourcesOf(admin), why: inv.firewall.admin ? SSH_RULE : 'ssh from this machine (firewall.admin unset)' };
}

/** The rules of every role of the host after SSH's, in a fixed order; a rule with no source left is no rule. */
export function roleRules(inv: Inventory, host: HostSpec): Rule[] {
  const rules: Rule[] = [];
  const add = (port: number, from: Source[], why: string) => {
    if (from.length > 0) rules.push({ protocol: 'tcp', port, from, why });
  };
  const lbs = withRole(inv.hosts, 'lb');
  const monitors = withRole(inv.hosts, 'monitor');
  if (hasRole(host, 'lb')) {
    rules.push({ protocol: 'tcp', port: HTTP_PORT, from: 'any', why: 'http from anywhere (lb)' });
    rules.push({ protocol: 'tcp', port: HTTPS_PORT, from: 'any', why: 'https from anywhere (lb)' });
  }
  if (hasRole(host, 'web')) add(NGINX_PORT, addressesOf(lbs, host), 'nginx from the lb hosts');
  if (isDbHost(host)) {
    add(MYSQL_PORT, addressesOf(inv.hosts.filter((h) => isDbHost(h) || hasRole(h, 'app')), host), 'database from the other db hosts and the app hosts');
  }
  add(NODE_EXPORTER_PORT, addressesOf(monitors, host), 'node exporter from the monitor hosts');
  if (isDbHost(host)) add(MYSQLD_EXPORTER_PORT, addressesOf(monitors, host), 'mysqld exporter from the monitor hosts');
  if (hasRole(host, 'web')) add(NGINX_EXPORTER_PORT, addressesOf(monitors, host), 'nginx exporter from the monitor hosts');
  // Prometheus reads the app's own metrics through the host's Nginx (src/monitor/targets.ts).
  if (servesAppMetrics(host)) add(NGINX_PORT, addressesOf(monitors, host), 'app metrics (through nginx) from the monitor hosts');
  if (hasRole(host, 'lb')) add(HAPROXY_METRICS_PORT, addressesOf(monitors, host), 'haproxy metrics from the monitor hosts');
  if (hasRole(host, 'lb') && inv.lb.failover) {
    const peers = addressesOf(lbs, host);
    if (peers.length > 0) rules.push({ protocol: 'vrrp', from: peers, why: 'vrrp between the lb hosts (active-passive)' });
  }
  inv.firewall.allow.forEach((a, i) => rules.push({ protocol: a.protocol, port: a.port, from: sourcesOf(a.from), why: `firewall.allow[${i}]` }));
  return rules;
}

/** The TCP ports the rules open to someone (what verify expects to get through). */
export function allowedTcpPorts(rules: readonly Rule[]): number[] {
  return [...new Set(rules.filter((r) => r.protocol === 'tcp').map((r) => r.port!))].sort((a, b) => a - b);
}
