// Which host does what: role helpers shared by recipes, deploy, verify, status and the CLI.
import type { HostSpec, Inventory, Role } from '../inventory/types.ts';
import { dialectFor, type Dialect } from '../ops/mysql/dialect.ts';

export const hasRole = (host: HostSpec, role: Role) => host.roles.includes(role);
export const withRole = (hosts: readonly HostSpec[], role: Role) => hosts.filter((h) => hasRole(h, role));
export const isDbHost = (host: HostSpec) => hasRole(host, 'db-primary') || hasRole(host, 'db-replica');
export const dbHosts = (inv: Inventory) => inv.hosts.filter(isDbHost);
/** The inventory loader has checked there is exactly one. */
export const primaryOf = (inv: Inventory) => inv.hosts.find((h) => hasRole(h, 'db-primary'))!;
export const dialectOf = (inv: Inventory): Dialect => dialectFor(inv.db.engine);
