// exporters: what Prometheus scrapes on each host, when the inventory has a monitor host. Each
// listens only on the host's inventory address: the node exporter on every host, the MySQL
// exporter (its own read-only account) on db hosts, the Nginx exporter on web hosts. HAProxy's
// own exporter is in its config (recipes/haproxy.ts); the app's metrics go through Nginx.
import { template } from '../src/ops/template.ts';
import { service, serviceHandler } from '../src/ops/service.ts';
import { account } from '../src/ops/mysql/ops.ts';
import { monitorPrivileges } from '../src/ops/mysql/dialect.ts';
import type { HostWork, Op } from '../src/engine/types.ts';
import { MYSQLD_EXPORTER_PORT, MYSQL_PORT, NGINX_EXPORTER_PORT, NGINX_PORT, NODE_EXPORTER_PORT } from '../src/stack/names.ts';
import { dialectOf, hasRole, isDbHost } from '../src/stack/roles.ts';
import { isMonitored } from '../src/monitor/targets.ts';
import type { Recipe } from './recipe.ts';

export const EXPORTER_USER = 'tandem_exporter';
/** Beside tandem's other files: /etc/prometheus exists only where Prometheus is installed. */
export const MYSQLD_EXPORTER_CNF = '/etc/tandem/mysqld-exporter.cnf';
export const NGINX_STATUS_PATH = '/nginx_status';

/** Debian's units run the program with $ARGS from /etc/default/<service>. */
export const defaultsFile = (service: string) => `/etc/default/${service}`;

/**
 * A Debian-packaged Prometheus program: its command line in /etc/default, the service running,
 * restarted when the command line (or `configFiles`) changes. Flags in the --double-dash form,
 * which Debian 12's Go-flag programs and Debian 13's kingpin ones both read.
 */
export function packagedService(
  name: string,
  args: string[],
  opts: { configOps?: Op[]; configFiles?: string[]; validate?: string[]; listensOn?: number[] } = {},
): { ops: Op[]; handlers: HostWork['handlers'] } {
  const restart = `restart ${name}`;
  const files = [defaultsFile(name), ...(opts.configFiles ?? [])];
  return {
    ops: [
      ...(opts.configOps ?? []),
      template({ path: defaultsFile(name), template: 'monitor/defaults.ejs', vars: { args }, mode: '0644', notify: [restart] }),
      service({ name, ...(opts.validate && { validate: opts.validate }) }),
    ],
    handlers: [serviceHandler(name, 'restart', opts.validate, restart, { configFiles: files, ...(opts.listensOn && { listensOn: opts.listensOn }) })],
  };
}

export const exporters: Recipe = {
  name: 'exporters',
  packages: ({ inventory, host }) =>
    isMonitored(inventory)
      ? [
          'prometheus-node-exporter',
          ...(isDbHost(host) ? ['prometheus-mysqld-exporter'] : []),
          ...(hasRole(host, 'web') ? ['prometheus-nginx-exporter'] : []),
        ]
      : [],
  build({ inventory, host, secrets }) {
    if (!isMonitored(inventory)) return [];
    const work: HostWork[] = [];
    const node = packagedService('prometheus-node-exporter', [`--web.listen-address=${host.address}:${NODE_EXPORTER_PORT}`]);
    work.push({ phase: 'base', ops: node.ops, handlers: node.handlers });

    if (isDbHost(host)) {
      const d = dialectOf(inventory);
      const isReplica = hasRole(host, 'db-replica');
      const cnf = template({
        path: MYSQLD_EXPORTER_CNF,
        template: 'monitor/mysqld-exporter.cnf.ejs',
        vars: { user: EXPORTER_USER, password: secrets.db_exporter_password.reveal(), host: host.address, port: MYSQL_PORT },
        mode: '0640',
        group: 'prometheus',
        sensitive: true,
        notify: ['restart prometheus-mysqld-exporter'],
      });
      const mysqld = packagedService(
        'prometheus-mysqld-exporter',
        [`--config.my-cnf=${MYSQLD_EXPORTER_CNF}`, `--web.listen-address=${host.address}:${MYSQLD_EXPORTER_PORT}`],
        { configOps: [cnf], configFiles: [MYSQLD_EXPORTER_CNF] },
      );
      work.push({
        // A replica's account is its own (kept out of its binary log), made once its server runs.
        // On the primary, after the database recipe's own db work (recipes run in order in a phase).
        phase: isReplica ? 'replication' : 'db',
        needs: [{ phase: isReplica ? 'db' : 'base' }],
        ops: [
          // Least privilege, as the exporter's README asks: the process list, replication status, performance_schema.
          account({
            user: EXPORTER_USER,
            host: host.address,
            password: secrets.db_exporter_password,
            grants: [
              { privileges: ['PROCESS', ...monitorPrivileges(d)], on: '*.*' },
              { privileges: ['SELECT'], on: 'performance_schema.*' },
            ],
            dialect: d,
            ...(isReplica && { local: true }),
          }),
          ...mysqld.ops,
        ],
        handlers: mysqld.handlers,
      });
    }

    if (hasRole(host, 'web')) {
      const nginx = packagedService('prometheus-nginx-exporter', [
        `--nginx.scrape-uri=http://127.0.0.1:${NGINX_PORT}${NGINX_STATUS_PATH}`,
        `--web.listen-address=${host.address}:${NGINX_EXPORTER_PORT}`,
      ]);
      work.push({ phase: 'web', needs: [{ phase: 'base' }], ops: nginx.ops, handlers: nginx.handlers });
    }
    return work;
  },
};
