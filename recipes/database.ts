// database: the server on every db host (config with a unique server_id, binary log, GTID, the
// private bind address), the app's database and accounts on the primary; on replicas, accounts
// local to them and GTID replication seeded from a dump of the primary.
import { template } from '../src/ops/template.ts';
import { service, serviceHandler } from '../src/ops/service.ts';
import { account, database, type AccountArgs } from '../src/ops/mysql/ops.ts';
import { replication } from '../src/ops/mysql/replication.ts';
import { fenced, writable } from '../src/ops/mysql/writable.ts';
import { monitorPrivileges, type Dialect } from '../src/ops/mysql/dialect.ts';
import { sqlIdentifier } from '../src/formats/sql.ts';
import type { HostSpec, Inventory } from '../src/inventory/types.ts';
import type { Secrets } from '../src/secrets/store.ts';
import type { HostWork } from '../src/engine/types.ts';
import { DB_CA_FILE, DB_CERT_FILE, DB_KEY_FILE, MYSQL_PORT, REPLICATION_USER, VERIFY_DB, VERIFY_USER } from '../src/stack/names.ts';
import { serverCertificate } from '../src/ops/server-cert.ts';
import { issueServerCert } from '../src/tls/private-ca.ts';
import { serverTlsOn } from '../src/tls/settings.ts';
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

/** The account a replica replicates (and is seeded) with, on its primary; promote creates it on a new primary too. */
export function replicationAccount(inventory: Inventory, secrets: Secrets, replica: HostSpec): AccountArgs {
  const readDump = ['SELECT', 'SHOW VIEW', 'TRIGGER', 'EVENT', 'LOCK TABLES'];
  return {
    user: REPLICATION_USER,
    host: replica.address,
    password: secrets.db_replication_password,
    grants: [
      { privileges: ['REPLICATION SLAVE', 'REPLICATION CLIENT', 'RELOAD'], on: '*.*' },
      { privileges: readDump, on: `${sqlIdentifier(inventory.db.name)}.*` },
      { privileges: readDump, on: `${sqlIdentifier(VERIFY_DB)}.*` },
    ],
    dialect: dialectOf(inventory),
    requireSsl: serverTlsOn(inventory),
  };
}

/**
 * The accounts a primary holds (logged, so its replicas get them too): the app's for every app
 * host, the replication account for every replica, the verifier's. A replica seeded from a dump
 * lacks those created before its seed, so promote creates them again for the new primary.
 */
export function primaryAccounts(inventory: Inventory, secrets: Secrets, primary: HostSpec): AccountArgs[] {
  const d = dialectOf(inventory);
  return [
    ...inventory.hosts
      .filter((h) => hasRole(h, 'app'))
      .map((h) => ({
        user: inventory.db.user,
        host: h.address,
        password: secrets.db_app_password,
        // The monitor privileges let the app tell a primary from a replica for its read health
        // on every server, whichever role it has after a promotion.
        grants: [{ privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'INDEX', 'ALTER'], on: `${sqlIdentifier(inventory.db.name)}.*` }, { privileges: monitorPrivileges(d), on: '*.*' }],
        dialect: d,
        // From another host, only over TLS.
        requireSsl: serverTlsOn(inventory) && h.address !== primary.address,
      })),
    ...inventory.hosts.filter((h) => isDbHost(h) && h.name !== primary.name).map((h) => replicationAccount(inventory, secrets, h)),
    { user: VERIFY_USER, host: primary.address, password: secrets.db_verify_password, grants: verifyGrants(d), dialect: d },
  ];
}

const verifyGrants = (d: Dialect) => [
  { privileges: ['ALL PRIVILEGES'], on: `${sqlIdentifier(VERIFY_DB)}.*` },
  { privileges: monitorPrivileges(d), on: '*.*' },
];

export const database_: Recipe = {
  name: 'database',
  packages: ({ inventory, host }) => (isDbHost(host) ? dialectOf(inventory).packages : []),
  build({ inventory, host, secrets, serverTls }) {
    const isPrimary = hasRole(host, 'db-primary');
    if (!isDbHost(host)) return [];
    const d = dialectOf(inventory);
    if (inventory.db.fenced.includes(host.name)) return [{ phase: 'db', ops: [fenced(host.name)] }];
    const restart = `restart ${d.service}`;
    const appDb = `${sqlIdentifier(inventory.db.name)}.*`;
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
          vars: {
            serverId: serverId(host),
            bindAddress: host.address,
            // Read-only on every server, the primary included: only the primary's `writable` op
            // (below) turns it off, so a former primary that boots again never takes writes.
            replication: [...d.replicationConfig({ readOnly: true }), ...d.semiSyncConfig(inventory.db.semiSyncTimeoutMs), ...tlsOptions],
          },
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
        ...primaryAccounts(inventory, secrets, host).map(account),
      );
      // The primary's role in replication: take writes, once its server runs its final configuration.
      return [install, { phase: 'replication', needs: [{ phase: 'db' }], ops: [writable(d)] }];
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
          account({ user: VERIFY_USER, host: host.address, password: secrets.db_verify_password, grants: verifyGrants(d), dialect: d, local: true }),
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
