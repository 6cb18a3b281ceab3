// app: Node (Debian's nodejs), an unprivileged user, release folders with a `current` link, the
// env file (0600) and the systemd unit.
import { directory, planSymlink } from '../src/ops/file.ts';
import { template } from '../src/ops/template.ts';
import { service, serviceHandler, daemonReloadFor } from '../src/ops/service.ts';
import { user } from '../src/ops/user.ts';
import { release } from '../src/ops/release.ts';
import { fileFact } from '../src/facts/file.ts';
import type { Op } from '../src/engine/types.ts';
import { file } from '../src/ops/file.ts';
import { appDbFile } from '../src/stack/app-db.ts';
import { DB_CA_FILE, APP_CURRENT, APP_DB_FILE, APP_ENV_FILE, APP_RELEASES, APP_ROOT, APP_SERVICE, APP_USER } from '../src/stack/names.ts';
import { hasRole, isDbHost, primaryOf } from '../src/stack/roles.ts';
import type { Recipe } from './recipe.ts';

/** Point `current` at the release only when there is none: moving it later is deploy's job. */
function initialCurrent(target: string): Op {
  const path = APP_CURRENT;
  const fact = fileFact(path);
  return {
    id: `symlink ${path} (first release)`,
    facts: [fact],
    notify: [`restart ${APP_SERVICE}`],
    plan: (f) => (f.get(fact).exists ? null : planSymlink(path, target, f.get(fact))),
  };
}

export const app: Recipe = {
  name: 'app',
  packages: ({ host, release: rel }) => (hasRole(host, 'app') && rel ? ['nodejs'] : []),
  build({ inventory, host, secrets, release: rel, serverTls }) {
    if (!hasRole(host, 'app') || !rel) return [];
    const primary = primaryOf(inventory);
    const restart = `restart ${APP_SERVICE}`;
    const reload = `reload ${APP_SERVICE}`;
    const releaseDir = `${APP_RELEASES}/${rel.id}`;
    const unitFile = `/etc/systemd/system/${APP_SERVICE}.service`;
    const daemonReload = daemonReloadFor(APP_SERVICE);
    return [
      {
        phase: 'app',
        // Not the database: the app starts without it (and serves once it answers).
        needs: [{ phase: 'base' }],
        ops: [
          user({ name: APP_USER, home: APP_ROOT }),
          directory({ path: APP_ROOT, mode: '0755' }),
          directory({ path: APP_RELEASES, mode: '0755' }),
          release(releaseDir, rel.tarball),
          initialCurrent(releaseDir),
          template({
            path: APP_ENV_FILE,
            template: 'app/app.env.ejs',
            vars: {
              port: inventory.app.port,
              host: host.name,
              dbFile: APP_DB_FILE,
              maxReplicaLag: inventory.db.maxReplicaLagSeconds,
              dbName: inventory.db.name,
              dbUser: inventory.db.user,
              dbPassword: secrets.db_app_password.reveal(),
              // TLS to the database, checked against tandem's CA (base puts it on every app host).
              dbCa: serverTls ? DB_CA_FILE : '',
            },
            mode: '0600',
            sensitive: true,
            notify: [restart],
          }),
          // Written by promote too: a change is a reload (SIGHUP), which drops no request.
          file({ path: APP_DB_FILE, content: appDbFile(host, primary), mode: '0644', notify: [reload] }),
          template({
            path: unitFile,
            template: 'app/tandem-app.service.ejs',
            vars: { host: host.name, user: APP_USER, envFile: APP_ENV_FILE, root: APP_ROOT, entry: inventory.app.entry },
            mode: '0644',
            notify: [daemonReload.id, restart],
          }),
          service({ name: APP_SERVICE }),
        ],
        handlers: [
          daemonReload,
          serviceHandler(APP_SERVICE, 'restart', undefined, restart, { listensOn: [inventory.app.port], configFiles: [APP_ENV_FILE, unitFile, APP_CURRENT] }),
          serviceHandler(APP_SERVICE, 'reload', undefined, reload, { listensOn: [inventory.app.port], configFiles: [APP_DB_FILE, APP_ENV_FILE, unitFile, APP_CURRENT] }),
        ],
      },
    ];
  },
};
