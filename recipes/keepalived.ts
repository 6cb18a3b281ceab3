// keepalived: with lb.mode active-passive, one virtual address (lb.vip) held by the first load
// balancer whose HAProxy runs, moved by VRRP (unicast between the lb hosts) when it stops.
// With active-active, a keepalived left from an earlier active-passive setup is stopped.
import { apt } from '../src/ops/apt.ts';
import { template } from '../src/ops/template.ts';
import { service, serviceHandler } from '../src/ops/service.ts';
import { KEEPALIVED_CONFIG } from '../src/stack/names.ts';
import { hasRole } from '../src/stack/roles.ts';
import type { Recipe } from './recipe.ts';
const RELOAD = 'reload keepalived';

export const keepalived: Recipe = {
  name: 'keepalived',
  build({ inventory, host }) {
    if (!hasRole(host, 'lb')) return [];
    const failover = inventory.lb.failover;
    if (!failover) {
      return [{ phase: 'lb', ops: [service({ name: 'keepalived', enabled: false, running: false, onlyIfInstalled: true })] }];
    }
    const lbs = inventory.hosts.filter((h) => hasRole(h, 'lb'));
    const rank = lbs.findIndex((h) => h.name === host.name);
    const vars = {
      name: host.name,
      state: rank === 0 ? 'MASTER' : 'BACKUP',
      // The inventory's order of lb hosts is the order of preference.
      priority: Math.max(1, 150 - rank * 10),
      interface: failover.interface,
      routerId: failover.routerId,
      self: host.address,
      peers: lbs.filter((h) => h.name !== host.name).map((h) => h.address),
      vip: `${failover.vip}/${failover.prefix}`,
    };
    return [
      {
        phase: 'lb',
        ops: [
          apt({ packages: ['keepalived'], cacheValidSeconds: inventory.apt.cacheValidSeconds, lockTimeoutSeconds: inventory.apt.lockWaitSeconds }),
          template({ path: KEEPALIVED_CONFIG, template: 'keepalived/keepalived.conf.ejs', vars, mode: '0644', notify: [RELOAD] }),
          service({ name: 'keepalived' }),
        ],
        handlers: [serviceHandler('keepalived', 'reload', ['keepalived', '--config-test', '-f', KEEPALIVED_CONFIG], RELOAD)],
      },
    ];
  },
};
