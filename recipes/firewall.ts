// firewall: tandem's nftables table on every host, from the roles (src/firewall/rules.ts), loaded
// without locking anyone out, and loaded again at boot by its own unit before the network is up.
// With firewall.enabled false, the table, its file and the unit go.
import { absent, directory, file } from '../src/ops/file.ts';
import { firewall as firewallOp, noFirewall } from '../src/ops/firewall.ts';
import { service } from '../src/ops/service.ts';
import { BOOT_UNIT, bootUnit, FIREWALL_STATE } from '../src/firewall/commands.ts';
import type { Recipe } from './recipe.ts';

const UNIT_FILE = `/etc/systemd/system/${BOOT_UNIT}.service`;

export const firewall: Recipe = {
  name: 'firewall',
  packages: ({ inventory }) => (inventory.firewall.enabled ? ['nftables'] : []),
  build({ inventory, host }) {
    if (!inventory.firewall.enabled) {
      return [{ phase: 'base', ops: [service({ name: BOOT_UNIT, enabled: false, running: false, onlyIfInstalled: true }), absent(UNIT_FILE), noFirewall()] }];
    }
    // No daemon-reload handler: the service op reloads before its first start, and boot reads the file fresh.
    return [
      {
        phase: 'base',
        ops: [
          directory({ path: FIREWALL_STATE, mode: '0700' }),
          firewallOp(inventory, host),
          file({ path: UNIT_FILE, content: bootUnit(), mode: '0644' }),
          service({ name: BOOT_UNIT }),
        ],
      },
    ];
  },
};
