// platform: on every host, before anything else and whatever recipes are selected, the check that
// it runs a release tandem knows (and, on a replica, a MariaDB no older than its primary's).
import { platformCheck } from '../src/ops/platform.ts';
import { hasRole, isDbHost, primaryOf } from '../src/stack/roles.ts';
import type { Recipe } from './recipe.ts';

export const platform: Recipe = {
  name: 'platform',
  build({ inventory, host }) {
    const isDb = isDbHost(host);
    const primary = hasRole(host, 'db-replica') ? primaryOf(inventory).name : undefined;
    return [
      {
        phase: 'check',
        ops: [platformCheck({ ...(isDb ? { engine: inventory.db.engine } : {}), ...(primary ? { primary } : {}) })],
      },
    ];
  },
};
