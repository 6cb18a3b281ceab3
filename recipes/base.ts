// base: what every host gets: common packages, the time zone, and a record of what tandem
// manages here. (apt's proxy goes with the package install itself: recipes/packages.ts.)
import { directory, file } from '../src/ops/file.ts';
import { timezone } from '../src/ops/timezone.ts';
import { envValue } from '../src/formats/index.ts';
import type { HostSpec, Inventory } from '../src/inventory/types.ts';
import type { Recipe } from './recipe.ts';
import { DB_CA_FILE, SERVER_TLS_DIR } from '../src/stack/names.ts';
import { hasRole, isDbHost } from '../src/stack/roles.ts';

export const BASE_PACKAGES = ['ca-certificates', 'curl', 'tzdata'];

export const HOST_FILE = '/etc/tandem/host';

/** Who the server is in the inventory; promote rewrites it on the hosts whose roles moved. */
export function hostFile(inventory: Inventory, host: HostSpec): string {
  return `# Managed by tandem: do not edit.\nname=${envValue(host.name)}\nroles=${envValue(host.roles.join(','))}\ninventory=${envValue(inventory.name)}\n`;
}

export const base: Recipe = {
  name: 'base',
  packages: () => BASE_PACKAGES,
  build({ inventory, host, serverTls }) {
    // tandem's CA, which database servers and the app check the database's certificate against.
    const ca = serverTls && (isDbHost(host) || hasRole(host, 'app'))
      ? [directory({ path: SERVER_TLS_DIR, mode: '0755' }), file({ path: DB_CA_FILE, mode: '0644', content: serverTls.ca.certPem })]
      : [];
    return [
      {
        phase: 'base',
        ops: [
          timezone(inventory.timezone),
          directory({ path: '/etc/tandem', mode: '0755' }),
          file({ path: HOST_FILE, mode: '0644', content: hostFile(inventory, host) }),
          ...ca,
        ],
      },
    ];
  },
};
