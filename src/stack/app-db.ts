// The app's database file (APP_DB_FILE): the one content both the app recipe and `promote` write,
// so that `plan` right after a promotion finds it as apply would have written it.
import type { HostSpec, Inventory } from '../inventory/types.ts';
import { envValue } from '../formats/index.ts';
import { isDbHost } from './roles.ts';

/** The app reads from its own database server when its host has one, else from the primary. */
export function appDbFile(host: HostSpec, primary: HostSpec): string {
  const local = isDbHost(host) ? host.address : primary.address;
  return (
    '# Managed by tandem (apply, promote): the database servers the app uses. It re-reads this file on SIGHUP.\n' +
    `DB_PRIMARY_HOST=${envValue(primary.address)}\n` +
    `DB_LOCAL_HOST=${envValue(local)}\n`
  );
}

/** The app hosts of an inventory and the content each must have with `primary` as the primary. */
export function appDbFiles(inv: Inventory, primary: HostSpec): { host: HostSpec; content: string }[] {
  return inv.hosts.filter((h) => h.roles.includes('app')).map((host) => ({ host, content: appDbFile(host, primary) }));
}
