// haproxy: a frontend on :80 on every lb host, a backend of every web host's Nginx checked on
// /healthz, the runtime API on a local socket and the stats page on localhost.
import { template } from '../src/ops/template.ts';
import { service, serviceHandler } from '../src/ops/service.ts';
import { HAPROXY_CONFIG, HAPROXY_METRICS_PORT, HTTP_PORT, NGINX_PORT } from '../src/stack/names.ts';
import { isMonitored } from '../src/monitor/targets.ts';
import { hasRole } from '../src/stack/roles.ts';
import type { Recipe } from './recipe.ts';
const RELOAD = 'reload haproxy';
const VALIDATE = ['haproxy', '-c', '-q', '-f', HAPROXY_CONFIG];

export const haproxy: Recipe = {
  name: 'haproxy',
  packages: ({ host }) => (hasRole(host, 'lb') ? ['haproxy', 'socat'] : []),
  build({ inventory, host }) {
    if (!hasRole(host, 'lb')) return [];
    const webHosts = inventory.hosts.filter((h) => hasRole(h, 'web'));
    const servers = webHosts.map((h) => ({ name: h.name, address: h.address, port: NGINX_PORT }));
    return [
      {
        phase: 'lb',
        needs: [{ phase: 'base' }],
        // Start serving once the web servers have converged (their app and Nginx run), so apply
        // does not end while HAProxy still counts its first failed checks of a server that came
        // up after it; a web server that failed does not stop this load balancer's own config.
        after: webHosts.map((h) => ({ phase: 'web' as const, host: h.name })),
        ops: [
          template({ path: HAPROXY_CONFIG, template: 'haproxy/haproxy.cfg.ejs', vars: { algorithm: inventory.lb.algorithm, servers, port: HTTP_PORT, metrics: isMonitored(inventory) ? `${host.address}:${HAPROXY_METRICS_PORT}` : undefined }, mode: '0644', notify: [RELOAD] }),
          service({ name: 'haproxy', validate: VALIDATE }),
        ],
        handlers: [serviceHandler('haproxy', 'reload', VALIDATE, RELOAD, { listensOn: [HTTP_PORT], configFiles: [HAPROXY_CONFIG] })],
      },
    ];
  },
};
