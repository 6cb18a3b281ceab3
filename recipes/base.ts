// base: what every host gets: apt's proxy (when the inventory names one), common packages,
// the time zone, and a record of what tandem manages here.
import { apt } from '../src/ops/apt.ts';
import { directory, file, absent } from '../src/ops/file.ts';
import { timezone } from '../src/ops/timezone.ts';
import { aptString, envValue, fieldValue } from '../src/formats/index.ts';
import type { Recipe } from './recipe.ts';

export const BASE_PACKAGES = ['ca-certificates', 'curl', 'tzdata'];

export const base: Recipe = {
  name: 'base',
  build({ inventory, host }) {
    const proxyFile = '/etc/apt/apt.conf.d/01tandem-proxy';
    return [
      {
        phase: 'base',
        ops: [
          inventory.apt.proxy
            ? file({ path: proxyFile, content: `Acquire::http::Proxy ${fieldValue(`${inventory.file}: apt.proxy`, aptString, inventory.apt.proxy)};\n`, mode: '0644' })
            : absent(proxyFile),
          apt({ packages: BASE_PACKAGES, cacheValidSeconds: inventory.apt.cacheValidSeconds, lockTimeoutSeconds: inventory.apt.lockWaitSeconds }),
          timezone(inventory.timezone),
          directory({ path: '/etc/tandem', mode: '0755' }),
          file({
            path: '/etc/tandem/host',
            mode: '0644',
            content: `# Managed by tandem: do not edit.\nname=${envValue(host.name)}\nroles=${envValue(host.roles.join(','))}\ninventory=${envValue(inventory.name)}\n`,
          }),
        ],
      },
    ];
  },
};
