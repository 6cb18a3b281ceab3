// The firewall as verify sees it: every port of every host probed from this machine (those that
// must get through, and every port the stack uses that must not), and from the servers the paths
// the stack needs between them (a replica or app to the primary's database, a load balancer to
// each Nginx). Pure parts (expectations, the path script and its reading) apart from the probing.
import type { HostSpec, Inventory } from '../inventory/types.ts';
import { covers } from '../firewall/address.ts';
import { roleRules, sshRule, type Rule, type SshClient } from '../firewall/rules.ts';
import { hasRole, isDbHost, primaryOf, withRole } from '../stack/roles.ts';
import * as names from '../stack/names.ts';
import { sh } from '../ssh/shell.ts';
import type { PortState } from './ports.ts';

export type Expected = 'allowed' | 'blocked';

export interface PortRow {
  port: number;
  expected: Expected;
  seen: PortState;
  ok: boolean;
}

/**
 * What this machine should meet on each port of the host: through (open, or closed when nothing
 * listens: the firewall let it reach the host) on the ports a rule opens to it; dropped (filtered)
 * on every other port the stack uses there.
 */
export function expectedFromHere(inv: Inventory, host: HostSpec, client: SshClient | undefined): Map<number, Expected> {
  const rules = [sshRule(inv, host, client), ...roleRules(inv, host)].filter((r): r is Rule => r !== undefined && r.protocol === 'tcp');
  const reachesUs = (from: Rule['from']) => from === 'any' || (client !== undefined && from.some((s) => covers(s, client.address)));
  const used = [
    ...rules.map((r) => r.port!),
    ...(hasRole(host, 'app') ? [inv.app.port] : []),
    ...(hasRole(host, 'web') ? [names.NGINX_PORT, names.NGINX_EXPORTER_PORT] : []),
    ...(hasRole(host, 'lb') ? [names.HAPROXY_STATS_PORT, names.HAPROXY_METRICS_PORT] : []),
    ...(isDbHost(host) ? [names.MYSQL_PORT, names.MYSQLD_EXPORTER_PORT] : []),
    names.NODE_EXPORTER_PORT,
  ];
  const expected = new Map<number, Expected>([...new Set(used)].sort((a, b) => a - b).map((p) => [p, 'blocked']));
  for (const r of rules) if (reachesUs(r.from)) expected.set(r.port!, 'allowed');
  return new Map([...expected].sort(([a], [b]) => a - b));
}

export const portOk = (expected: Expected, seen: PortState): boolean => (expected === 'allowed' ? seen !== 'filtered' : seen === 'filtered');

/** How a row reads: "allowed: open", "allowed: closed (reached, nothing listens)", "blocked: filtered". */
export function seenText(seen: PortState): string {
  return seen === 'closed' ? 'reached, nothing listens (closed)' : seen === 'open' ? 'open' : 'no answer (filtered)';
}

export function portTable(rows: readonly PortRow[]): string {
  const lines = rows.map((r) => `${String(r.port).padStart(5)}  ${r.expected.padEnd(8)} ${seenText(r.seen)}${r.ok ? '' : '   <- wrong'}`);
  return ['port   expected seen', ...lines].join('\n');
}

/** The connections the stack makes between servers, by the host that makes them. */
export function stackPaths(inv: Inventory, hosts: readonly HostSpec[]): Map<string, { to: HostSpec; port: number }[]> {
  const primary = primaryOf(inv);
  const paths = new Map<string, { to: HostSpec; port: number }[]>();
  const add = (from: HostSpec, to: HostSpec, port: number) => {
    if (from.name !== to.name) paths.set(from.name, [...(paths.get(from.name) ?? []), { to, port }]);
  };
  for (const h of hosts) {
    if (hasRole(h, 'db-replica') || hasRole(h, 'app')) add(h, primary, names.MYSQL_PORT);
    if (hasRole(h, 'lb')) for (const web of withRole(inv.hosts, 'web')) add(h, web, names.NGINX_PORT);
  }
  return paths;
}

/** One line per target, "ADDRESS PORT ok|failed", each a TCP connect bounded to 3 s. */
export function pathProbeScript(targets: readonly { to: HostSpec; port: number }[]): string {
  return targets
    .map(({ to, port }) => sh`if timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' ${to.address} ${port} 2>/dev/null; then echo ${to.address} ${port} ok; else echo ${to.address} ${port} failed; fi`)
    .join('\n');
}

export function parsePathProbe(stdout: string): Map<string, boolean> {
  return new Map(
    stdout
      .split('\n')
      .map((l) => l.trim().split(' '))
      .filter((w) => w.length === 3)
      .map(([a, p, r]) => [`${a} ${p}`, r === 'ok']),
  );
}
