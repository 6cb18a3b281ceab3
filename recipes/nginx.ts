// nginx: a site on :8080 serving the current release's static files and proxying to the app.
import { absent } from '../src/ops/file.ts';
import { template } from '../src/ops/template.ts';
import { service, serviceHandler } from '../src/ops/service.ts';
import { ACME_CHALLENGE_PATH, ACME_WEBROOT, APP_ROOT, NGINX_PORT, NGINX_SITE } from '../src/stack/names.ts';
import { hasRole } from '../src/stack/roles.ts';
import { monitorAddresses } from '../src/monitor/targets.ts';
import { NGINX_STATUS_PATH } from './exporters.ts';
import type { Recipe } from './recipe.ts';
const RELOAD = 'reload nginx';
const VALIDATE = ['nginx', '-t', '-q'];
/** The directory too: removing Debian's default site changes only the directory. */
const CONFIG = [NGINX_SITE, '/etc/nginx/sites-enabled'];

export const nginx: Recipe = {
  name: 'nginx',
  packages: ({ host }) => (hasRole(host, 'web') ? ['nginx'] : []),
  build({ inventory, host }) {
    if (!hasRole(host, 'web')) return [];
    return [
      {
        phase: 'web',
        needs: [{ phase: 'base' }],
        ops: [
          absent('/etc/nginx/sites-enabled/default', [RELOAD]),
          template({
            path: NGINX_SITE,
            template: 'nginx/site.conf.ejs',
            vars: {
              port: NGINX_PORT,
              domain: inventory.domain,
              host: host.name,
              root: APP_ROOT,
              appPort: inventory.app.port,
              // ACME http-01: the tokens tandem places while the CA validates (src/tls/issuer.ts).
              tls: inventory.tls !== undefined,
              acme: inventory.tls?.source.kind === 'acme' ? { path: ACME_CHALLENGE_PATH, root: ACME_WEBROOT } : undefined,
              monitors: monitorAddresses(inventory),
              statusPath: NGINX_STATUS_PATH,
            },
            mode: '0644',
            notify: [RELOAD],
          }),
          service({ name: 'nginx', validate: VALIDATE }),
        ],
        handlers: [serviceHandler('nginx', 'reload', VALIDATE, RELOAD, { listensOn: [NGINX_PORT], configFiles: CONFIG })],
      },
    ];
  },
};
