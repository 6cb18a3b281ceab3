// database: the server on every db host (config with a unique server_id, binary log, GTID, the
// private bind address), the app's database and accounts on the primary; on replicas, accounts
// local to them and GTID replication seeded from a dump of the primary.
import { template } from '../src/ops/template.ts';
import { service, serviceHandler } from '../src/ops/service.ts';
import { account, database } from '../src/ops/mysql/ops.ts';
import { replication } from '../src/ops/mysql/replication.ts';
import { monitorPrivileges } from '../src/ops/mysql/dialect.ts';
import { sqlIdentifier } from '../src/formats/sql.ts';
import type { HostSpec } from '../src/inventory/types.ts';
import type { HostWork } from '../src/engine/types.ts';
import { DB_CA_FILE, DB_CERT_FILE, DB_KEY_FILE, MYSQL_PORT, REPLICATION_USER, VERIFY_DB, VERIFY_USER } from '../src/stack/names.ts';
import { serverCertificate } from '../src/ops/server-cert.ts';
import { issueServerCert } from '../src/tls/private-ca.ts';
import { dialectOf, hasRole, isDbHost, primaryOf } from '../src/stack/roles.ts';
import type { Recipe } from './recipe.ts';

/** Stable and unique per host: an IPv4 address as a number, else a hash of the name. */
export function serverId(host: HostSpec): number {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host.address);
  if (m) return ((Number(m[1]) << 24) >>> 0) + (Number(m[2]) << 16) + (Number(m[3]) << 8) + Number(m[4]) || 1;
  let h = 0;
  for (const ch of host.name) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return h || 1;
}

export const database_: Recipe = {
  name: 'database',
  packages: ({ inventory, host }) => (isDbHost(host) ? dialectOf(inventory).packages : []),
  build({ inventory, host, secrets, serverTls }) {
    const isPrimary = hasRole(host, 'db-primary');
    if (!isDbHost(host)) return [];
    const d = dialectOf(inventory);
    const restart = `restart ${d.service}`;
    const appDb = `${sqlIdentifier(inventory.db.name)}.*`;
    const verifyDb = `${sqlIdentifier(VERIFY_DB)}.*`;
    const appHosts = inventory.hosts.filter((h) => hasRole(h, 'app'));
    const verifyGrants = [
      { privileges: ['ALL PRIVILEGES'], on: verifyDb },
      { privileges: monitorPrivileges(d), on: '*.*' },
    ];
    // TLS from tandem's CA: the server's certificate first, so the config naming it starts.
    const tlsOps = serverTls
      ? [
          serverCertificate({
            server: host,
            caPem: serverTls.ca.certPem,
            certPath: DB_CERT_FILE,
            keyPath: DB_KEY_FILE,
            owner: 'mysql',
            now: serverTls.now,
            issue: () => issueServerCert(serverTls.ca, host, serverTls.now),
            notify: [restart],
          }),
        ]
      : [];
    const tlsOptions: [string, string][] = serverTls ? [['ssl_ca', DB_CA_FILE], ['ssl_cert', DB_CERT_FILE], ['ssl_key', DB_KEY_FILE]] : [];
    const install: HostWork = {
      phase: 'db',
      ops: [
        ...tlsOps,
        template({
          path: d.configPath,
          template: 'mysql/tandem.cnf.ejs',
          vars: { serverId: serverId(host), bindAddress: host.address, replication: [...d.replicationConfig({ readOnly: !isPrimary }), ...tlsOptions] },
          mode: '0644',
          notify: [restart],
        }),
        service({ name: d.service, validate: d.validateConfig }),
      ],
      handlers: [serviceHandler(d.service, 'restart', d.validateConfig, restart, { configFiles: [d.configPath] })],
    };
    if (isPrimary) {
      install.ops.push(
        database({ name: inventory.db.name, dialect: d }),
        database({ name: VERIFY_DB, dialect: d }),
        ...appHosts.map((h) =>
          account({
            user: inventory.db.user,
            host: h.address,
            password: secrets.db_app_password,
            grants: [{ privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'INDEX', 'ALTER'], on: appDb }],
            dialect: d,
            // From another host, only over TLS.
            requireSsl: Boolean(serverTls) && h.address !== host.address,
          }),
        ),
        ...inventory.hosts
          .filter((h) => hasRole(h, 'db-replica'))
          .map((h) =>
            account({
              user: REPLICATION_USER,
              host: h.address,
              password: secrets.db_replication_password,
              grants: [
                { privileges: ['REPLICATION SLAVE', 'REPLICATION CLIENT', 'RELOAD'], on: '*.*' },
                { privileges: ['SELECT', 'SHOW VIEW', 'TRIGGER', 'EVENT', 'LOCK TABLES'], on: appDb },
                { privileges: ['SELECT', 'SHOW VIEW', 'TRIGGER', 'EVENT', 'LOCK TABLES'], on: verifyDb },
              ],
              dialect: d,
              requireSsl: Boolean(serverTls),
            }),
          ),
        account({ user: VERIFY_USER, host: host.address, password: secrets.db_verify_password, grants: verifyGrants, dialect: d }),
      );
      return [install];
    }
    const primary = primaryOf(inventory);
    return [
      install,
      {
        phase: 'replication',
        // The replica's own server with its final configuration, and its primary's server,
        // accounts and handlers (a restart included): nothing else of either host.
        needs: [{ phase: 'db' }, { phase: 'db', host: primary.name }],
        ops: [
          // Accounts a replica needs locally: kept out of its binary log so its GTID history stays the primary's.
          ...(hasRole(host, 'app')
            ? [
                account({
                  user: inventory.db.user,
                  host: host.address,
                  password: secrets.db_app_password,
                  // The monitor privileges let the app read its replica's status for its read health.
                  grants: [{ privileges: ['SELECT'], on: appDb }, { privileges: monitorPrivileges(d), on: '*.*' }],
                  dialect: d,
                  local: true,
                }),
              ]
            : []),
          account({ user: VERIFY_USER, host: host.address, password: secrets.db_verify_password, grants: verifyGrants, dialect: d, local: true }),
          replication({
            dialect: d,
            primary: { name: primary.name, address: primary.address, port: MYSQL_PORT },
            user: REPLICATION_USER,
            password: secrets.db_replication_password,
            databases: [inventory.db.name, VERIFY_DB],
            ...(serverTls && { tlsCa: DB_CA_FILE }),
          }),
        ],
      },
    ];
  },
};
