// nginx: a site on :8080 serving the current release's static files and proxying to the app.
import { apt } from '../src/ops/apt.ts';
import { absent } from '../src/ops/file.ts';
import { template } from '../src/ops/template.ts';
import { service, serviceHandler } from '../src/ops/service.ts';
import { APP_ROOT, NGINX_PORT, NGINX_SITE } from '../src/stack/names.ts';
import { hasRole } from '../src/stack/roles.ts';
import type { Recipe } from './recipe.ts';
const RELOAD = 'reload nginx';

export const nginx: Recipe = {
  name: 'nginx',
  build({ inventory, host }) {
    if (!hasRole(host, 'web')) return [];
    return [
      {
        phase: 'web',
        ops: [
          apt({ packages: ['nginx'], cacheValidSeconds: inventory.apt.cacheValidSeconds, lockTimeoutSeconds: inventory.apt.lockWaitSeconds }),
          absent('/etc/nginx/sites-enabled/default', [RELOAD]),
          template({
            path: NGINX_SITE,
            template: 'nginx/site.conf.ejs',
            vars: { port: NGINX_PORT, domain: inventory.domain, host: host.name, root: APP_ROOT, appPort: inventory.app.port },
            mode: '0644',
            notify: [RELOAD],
          }),
          service({ name: 'nginx' }),
        ],
        handlers: [serviceHandler('nginx', 'reload', ['nginx', '-t', '-q'], RELOAD, { listensOn: [NGINX_PORT] })],
      },
    ];
  },
};
