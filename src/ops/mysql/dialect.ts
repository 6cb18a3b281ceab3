// One dialect object per database engine: the SQL, packages, paths and config lines that differ.
// MariaDB (Debian 12's 10.11 and Debian 13's 11.8) is exercised in the lab; MySQL 8 by unit tests.
import { sqlString } from '../../formats/sql.ts';
import { compareSeries } from '../../facts/platform.ts';
import { nativePasswordHash } from './password-hash.ts';

export interface ReplicationSource {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface Dialect {
  engine: 'mariadb' | 'mysql';
  packages: string[];
  service: string;
  configPath: string;
  /** The server's own check of its configuration files; exits non-zero on a bad option. */
  validateConfig: string[];
  /** Options (name, value) for the [mysqld] section that turn on GTID replication. */
  replicationConfig(opts: { readOnly: boolean }): [string, string][];
  /**
   * Options for semi-synchronous replication, both sides on every server (any replica may become
   * the primary): a commit is acknowledged once a replica has it, or after `timeoutMs` without one.
   */
  semiSyncConfig(timeoutMs: number): [string, string][];
  /** The server status variables that say whether semi-sync is on now, and with how many replicas. */
  semiSyncStatus: { active: string; clients: string };
  /** Let the server take writes from every account (the config file starts every server read-only). */
  writable: string;
  /** Refuse writes from every account but the administrators'. */
  readOnly: string;
  /** Every GTID this server has logged (its own and replicated), to compare two servers' histories. */
  gtidStateQuery: string;

  /**
   * Points a replica at its source. tls: true, the replica connects with TLS and verifies the
   * source's certificate (against `ca`, a file on the replica, when given); false, without TLS;
   * undefined, the server's default.
   */
  changeSource(src: ReplicationSource, tls?: boolean, ca?: string): string;
  /**
   * Whether replicas can use TLS to a primary of this series without certificates set up by hand,
   * or undefined when the engine decides for itself.
   */
  replicationTls(primarySeries: string): boolean | undefined;
  /**
   * The `IDENTIFIED ...` clause that sets an account's password. It is written to the binary log
   * (and so to every replica's relay log) as sent: it must not carry the password itself.
   */
  identifiedBy(password: string): string;
  startReplica: string;
  stopReplica: string;
  /** Forget the source entirely (a promoted replica). */
  resetReplica: string;
  showReplicaStatus: string;
  /** Primary: the GTID set every replica must have executed. */
  primaryGtidQuery: string;
  /** Replica: wait (seconds) until it has executed the set; returns 0 when done. */
  waitForGtid(gtid: string, timeoutSeconds: number): string;
  /** Names of the status fields, which differ between engines. */
  status: { ioRunning: string; sqlRunning: string; lastIoError: string; lastSqlError: string; sourceHost: string; sourceUser: string; lag: string; tls: string; tlsCa: string; receivedGtid: string };
  /** mysqldump flags that record the GTID position for seeding a replica. */
  dumpFlags: string[];
  /** SQL to run on the replica after loading a dump, before starting replication. */
  afterSeed(gtidFromDump: string | undefined): string;
}

export const mariadb: Dialect = {
  engine: 'mariadb',
  packages: ['mariadb-server', 'mariadb-client'],
  service: 'mariadb',
  configPath: '/etc/mysql/mariadb.conf.d/60-tandem.cnf',
  validateConfig: ['sh', '-c', 'mariadbd --help --verbose --user=mysql >/dev/null'],
  replicationConfig: ({ readOnly }) => [
    ['log_bin', 'mysql-bin'],
    ['binlog_format', 'ROW'],
    ['log_slave_updates', 'ON'],
    ['gtid_strict_mode', 'ON'],
    ['relay_log', 'relay-bin'],
    ['expire_logs_days', '7'],
    ['read_only', readOnly ? 'ON' : 'OFF'],
  ],
  // Built into MariaDB 10.3+. AFTER_SYNC: the commit waits for a replica's acknowledgement before
  // it is visible to anyone, so nothing a client saw can be missing from the replica.
  semiSyncConfig: (timeoutMs) => [
    ['rpl_semi_sync_master_enabled', 'ON'],
    ['rpl_semi_sync_slave_enabled', 'ON'],
    ['rpl_semi_sync_master_wait_point', 'AFTER_SYNC'],
    // With no replica connected at all (the only one crashed), commit at once instead of waiting
    // out the timeout on every commit: the primary goes asynchronous until a replica is back.
    ['rpl_semi_sync_master_wait_no_slave', 'OFF'],
    ['rpl_semi_sync_master_timeout', String(timeoutMs)],
  ],
  semiSyncStatus: { active: 'Rpl_semi_sync_master_status', clients: 'Rpl_semi_sync_master_clients' },
  gtidStateQuery: 'SELECT @@GLOBAL.gtid_binlog_state',
  writable: 'SET GLOBAL read_only = OFF;',
  readOnly: 'SET GLOBAL read_only = ON;',
  // MariaDB logs CREATE/ALTER USER as sent: the hash (computed here, as the account fact
  // compares it) keeps the password out of the binary log and the replicas' relay logs.
  identifiedBy: (password) => `IDENTIFIED BY PASSWORD ${sqlString(nativePasswordHash(password))}`,
  changeSource: (s, tls, ca) =>
    `CHANGE MASTER TO MASTER_HOST=${sqlString(s.host)}, MASTER_PORT=${s.port}, MASTER_USER=${sqlString(s.user)}, ` +
    `MASTER_PASSWORD=${sqlString(s.password)}, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=5` +
    (tls === undefined ? '' : tls ? `, MASTER_SSL=1${ca ? `, MASTER_SSL_CA=${sqlString(ca)}` : ''}, MASTER_SSL_VERIFY_SERVER_CERT=1` : ', MASTER_SSL=0') +
    ';',
  // MariaDB 11.4+ makes its own certificate and lets a client that knows the account's password
  // verify it ("zero-configuration TLS"): an 11.8 replica does so by default. 10.11 has no
  // certificate unless one is set up by hand, and an 11.8 replica's default TLS then fails with
  // "SSL is required, but the server does not support it".
  replicationTls: (primarySeries) => compareSeries(primarySeries, '11.4') >= 0,
  startReplica: 'START SLAVE;',
  stopReplica: 'STOP SLAVE;',
  resetReplica: 'RESET SLAVE ALL;',
  showReplicaStatus: 'SHOW SLAVE STATUS\\G',
  primaryGtidQuery: 'SELECT @@GLOBAL.gtid_binlog_pos',
  waitForGtid: (gtid, t) => `SELECT MASTER_GTID_WAIT(${sqlString(gtid)}, ${t})`,
  status: {
    ioRunning: 'Slave_IO_Running',
    sqlRunning: 'Slave_SQL_Running',
    lastIoError: 'Last_IO_Error',
    lastSqlError: 'Last_SQL_Error',
    sourceHost: 'Master_Host',
    sourceUser: 'Master_User',
    lag: 'Seconds_Behind_Master',
    tls: 'Master_SSL_Allowed',
    tlsCa: 'Master_SSL_CA_File',
    receivedGtid: 'Gtid_IO_Pos',
  },
  dumpFlags: ['--single-transaction', '--gtid', '--master-data=2', '--routines', '--triggers', '--events'],
  afterSeed: (gtid) => (gtid === undefined ? '' : `SET GLOBAL gtid_slave_pos = ${sqlString(gtid)};`),
};

export const mysql8: Dialect = {
  engine: 'mysql',
  packages: ['mysql-server', 'mysql-client'],
  service: 'mysql',
  configPath: '/etc/mysql/mysql.conf.d/60-tandem.cnf',
  validateConfig: ['mysqld', '--validate-config', '--user=mysql'],
  replicationConfig: ({ readOnly }) => [
    ['log_bin', 'mysql-bin'],
    ['binlog_format', 'ROW'],
    ['gtid_mode', 'ON'],
    ['enforce_gtid_consistency', 'ON'],
    ['log_replica_updates', 'ON'],
    ['relay_log', 'relay-bin'],
    ['binlog_expire_logs_seconds', '604800'],
    ['read_only', readOnly ? 'ON' : 'OFF'],
    ['super_read_only', readOnly ? 'ON' : 'OFF'],
  ],
  // MySQL 8.0.26+: the semisync plugins, loaded from the config file.
  semiSyncConfig: (timeoutMs) => [
    ['plugin_load_add', 'semisync_source.so'],
    ['plugin_load_add', 'semisync_replica.so'],
    ['rpl_semi_sync_source_enabled', 'ON'],
    ['rpl_semi_sync_replica_enabled', 'ON'],
    ['rpl_semi_sync_source_wait_point', 'AFTER_SYNC'],
    ['rpl_semi_sync_source_wait_no_replica', 'OFF'],
    ['rpl_semi_sync_source_timeout', String(timeoutMs)],
  ],
  semiSyncStatus: { active: 'Rpl_semi_sync_source_status', clients: 'Rpl_semi_sync_source_clients' },
  gtidStateQuery: 'SELECT @@GLOBAL.gtid_executed',
  writable: 'SET GLOBAL super_read_only = OFF; SET GLOBAL read_only = OFF;',
  readOnly: 'SET GLOBAL super_read_only = ON;',
  // MySQL 8 rewrites the password into the salted hash before it writes the binary log.
  identifiedBy: (password) => `IDENTIFIED BY ${sqlString(password)}`,
  changeSource: (s) =>
    `CHANGE REPLICATION SOURCE TO SOURCE_HOST=${sqlString(s.host)}, SOURCE_PORT=${s.port}, SOURCE_USER=${sqlString(s.user)}, ` +
    `SOURCE_PASSWORD=${sqlString(s.password)}, SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=5, GET_SOURCE_PUBLIC_KEY=1;`,
  replicationTls: () => undefined,
  startReplica: 'START REPLICA;',
  stopReplica: 'STOP REPLICA;',
  resetReplica: 'RESET REPLICA ALL;',
  showReplicaStatus: 'SHOW REPLICA STATUS\\G',
  primaryGtidQuery: 'SELECT @@GLOBAL.gtid_executed',
  waitForGtid: (gtid, t) => `SELECT WAIT_FOR_EXECUTED_GTID_SET(${sqlString(gtid)}, ${t})`,
  status: {
    ioRunning: 'Replica_IO_Running',
    sqlRunning: 'Replica_SQL_Running',
    lastIoError: 'Last_IO_Error',
    lastSqlError: 'Last_SQL_Error',
    sourceHost: 'Source_Host',
    sourceUser: 'Source_User',
    lag: 'Seconds_Behind_Source',
    tls: 'Source_SSL_Allowed',
    tlsCa: 'Source_SSL_CA_File',
    receivedGtid: 'Retrieved_Gtid_Set',
  },
  // The dump carries SET @@GLOBAL.gtid_purged itself.
  dumpFlags: ['--single-transaction', '--set-gtid-purged=ON', '--source-data=2', '--routines', '--triggers', '--events'],
  afterSeed: () => '',
};

export function dialectFor(engine: 'mariadb' | 'mysql'): Dialect {
  return engine === 'mysql' ? mysql8 : mariadb;
}

/** Privileges the verifier needs to read replication status. */
export function monitorPrivileges(d: Dialect): string[] {
  return d.engine === 'mariadb' ? ['BINLOG MONITOR', 'SLAVE MONITOR'] : ['REPLICATION CLIENT'];
}
