// haproxy: a frontend on :80 on every lb host, a backend of every web host's Nginx checked on
// /healthz, the runtime API on a local socket and the stats page on localhost.
import { apt } from '../src/ops/apt.ts';
import { template } from '../src/ops/template.ts';
import { service, serviceHandler } from '../src/ops/service.ts';
import { HAPROXY_CONFIG, HTTP_PORT, NGINX_PORT } from '../src/stack/names.ts';
import { hasRole } from '../src/stack/roles.ts';
import type { Recipe } from './recipe.ts';
const RELOAD = 'reload haproxy';

export const haproxy: Recipe = {
  name: 'haproxy',
  build({ inventory, host }) {
    if (!hasRole(host, 'lb')) return [];
    const servers = inventory.hosts.filter((h) => hasRole(h, 'web')).map((h) => ({ name: h.name, address: h.address, port: NGINX_PORT }));
    return [
      {
        phase: 'lb',
        ops: [
          apt({ packages: ['haproxy', 'socat'], cacheValidSeconds: inventory.apt.cacheValidSeconds, lockTimeoutSeconds: inventory.apt.lockWaitSeconds }),
          template({ path: HAPROXY_CONFIG, template: 'haproxy/haproxy.cfg.ejs', vars: { algorithm: inventory.lb.algorithm, servers, port: HTTP_PORT }, mode: '0644', notify: [RELOAD] }),
          service({ name: 'haproxy' }),
        ],
        handlers: [serviceHandler('haproxy', 'reload', ['haproxy', '-c', '-q', '-f', HAPROXY_CONFIG], RELOAD, { listensOn: [HTTP_PORT] })],
      },
    ];
  },
};
