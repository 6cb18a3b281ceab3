// What a promotion needs of its target, checked before any host is contacted.
import type { Inventory } from '../inventory/types.ts';
import { UsageError } from '../errors.ts';
import { hasRole } from '../stack/roles.ts';

export function checkTarget(inv: Inventory, target: string): void {
  if (inv.db.engine !== 'mariadb') throw new UsageError(`promote: db.engine ${inv.db.engine} is not supported yet (MariaDB only)`);
  const h = inv.hosts.find((x) => x.name === target);
  if (!h) throw new UsageError(`promote: ${target} is not a host of ${inv.file} (hosts: ${inv.hosts.map((x) => x.name).join(', ')})`);
  if (hasRole(h, 'db-primary')) throw new UsageError(`promote: ${target} is the primary already`);
  if (!hasRole(h, 'db-replica')) throw new UsageError(`promote: ${target} has no database (roles: ${h.roles.join(', ')}); promote a db-replica host`);
  if (inv.db.fenced.includes(target)) throw new UsageError(`promote: ${target} is fenced (db.fenced); bring it back with \`tandem rejoin ${target}\` first`);
}
