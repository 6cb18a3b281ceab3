// haproxy: a frontend on :80 on every lb host, a backend of every web host's Nginx checked on
// /healthz, the runtime API on a local socket and the stats page on localhost.
import { template } from '../src/ops/template.ts';
import { service, serviceHandler } from '../src/ops/service.ts';
import { certificate, placeholderCertificate } from '../src/ops/certificate.ts';
import { ACME_CHALLENGE_PATH, HAPROXY_CERT, HAPROXY_CONFIG, HAPROXY_METRICS_PORT, HTTP_PORT, HTTPS_PORT, NGINX_PORT } from '../src/stack/names.ts';
import type { Op } from '../src/engine/types.ts';
import { isMonitored } from '../src/monitor/targets.ts';
import { hasRole } from '../src/stack/roles.ts';
import type { Recipe } from './recipe.ts';
const RELOAD = 'reload haproxy';
const VALIDATE = ['haproxy', '-c', '-q', '-f', HAPROXY_CONFIG];

export const haproxy: Recipe = {
  name: 'haproxy',
  // openssl makes the placeholder certificate HAProxy first starts with (src/ops/certificate.ts).
  packages: ({ host, inventory }) => (hasRole(host, 'lb') ? ['haproxy', 'socat', ...(inventory.tls ? ['openssl'] : [])] : []),
  build({ inventory, host, certificate: supply }) {
    if (!hasRole(host, 'lb')) return [];
    const webHosts = inventory.hosts.filter((h) => hasRole(h, 'web'));
    const servers = webHosts.map((h) => ({ name: h.name, address: h.address, port: NGINX_PORT }));
    const tls = inventory.tls && { cert: HAPROXY_CERT, hstsMaxAge: inventory.tls.hstsMaxAgeSeconds, challengePath: ACME_CHALLENGE_PATH, port: HTTPS_PORT };
    const peers = inventory.hosts.filter((h) => hasRole(h, 'lb') && h.name !== host.name).map((h) => h.name);
    // HAProxy needs a certificate to start with :443; the CA's comes once it answers on :80.
    const before: Op[] = supply?.want.kind === 'acme' ? [placeholderCertificate({ domain: inventory.domain, path: HAPROXY_CERT })] : [];
    const cert: Op[] = supply ? [certificate({ domain: inventory.domain, path: HAPROXY_CERT, want: supply.want, now: supply.now, peers, content: supply.content, notify: [RELOAD] })] : [];
    const certFirst = supply?.want.kind === 'files';
    return [
      {
        phase: 'lb',
        needs: [{ phase: 'base' }],
        // Start serving once the web servers have converged (their app and Nginx run), so apply
        // does not end while HAProxy still counts its first failed checks of a server that came
        // up after it; a web server that failed does not stop this load balancer's own config.
        after: webHosts.map((h) => ({ phase: 'web' as const, host: h.name })),
        ops: [
          ...before,
          ...(certFirst ? cert : []),
          template({ path: HAPROXY_CONFIG, template: 'haproxy/haproxy.cfg.ejs', vars: { algorithm: inventory.lb.algorithm, servers, port: HTTP_PORT, tls, metrics: isMonitored(inventory) ? `${host.address}:${HAPROXY_METRICS_PORT}` : undefined }, mode: '0644', notify: [RELOAD] }),
          service({ name: 'haproxy', validate: VALIDATE }),
          ...(certFirst ? [] : cert),
        ],
        handlers: [
          serviceHandler('haproxy', 'reload', VALIDATE, RELOAD, {
            listensOn: tls ? [HTTP_PORT, HTTPS_PORT] : [HTTP_PORT],
            configFiles: tls ? [HAPROXY_CONFIG, HAPROXY_CERT] : [HAPROXY_CONFIG],
          }),
        ],
      },
    ];
  },
};
