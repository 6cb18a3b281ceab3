// The commands of a promotion, built as data by pure functions (run by src/promote/run.ts).
// MariaDB only for now: `promote` refuses other engines before it connects (see checkEngine).
import type { Command } from '../engine/types.ts';
import { Secret } from '../secrets/secret.ts';
import { SQL_PRELUDE, sqlIdentifier, sqlString } from '../formats/sql.ts';
import { shellQuote } from '../ssh/shell.ts';
import type { Dialect, ReplicationSource } from '../ops/mysql/dialect.ts';
import { APP_DB_FILE, APP_SERVICE } from '../stack/names.ts';

/** SQL through the local client as root, rows without headers; with `secret`, stdin is masked in messages. */
export function sqlCommand(sql: string, describe: string, secret = false): Extract<Command, { kind: 'script' }> {
  const text = `${SQL_PRELUDE}${sql}\n`;
  return { kind: 'script', script: 'mysql -N -B', stdin: secret ? new Secret(text) : text, describe: `mysql: ${describe}` };
}

/** The app account's connections that hold a write transaction (they can no longer commit once read-only). */
function writeTransactions(appUser: string): string {
  return (
    'SELECT p.id FROM information_schema.innodb_trx t JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id ' +
    `WHERE p.user = ${sqlString(appUser)} AND t.trx_autocommit_non_locking = 0`
  );
}

/**
 * Stop writes on the primary: read_only (which waits for commits under way; a transaction left
 * open would make it wait, so it is tried for 5 s, the app's write transactions are ended, then it
 * is tried again), then end the app's write transactions still open, and print the GTID position:
 * everything it committed. read_only does not stop administrators (SUPER, READ_ONLY ADMIN): the
 * app's account has neither.
 */
export function stopWritesScript(d: Dialect, appUser: string): Command {
  const readOnly = shellQuote(`SET SESSION lock_wait_timeout = 5; ${d.readOnly}`);
  const endWriters = `for id in $(mysql -N -B -e ${shellQuote(writeTransactions(appUser))}); do mysql -e "KILL CONNECTION $id" 2>/dev/null || true; done`;
  return {
    kind: 'script',
    describe: 'stop writes: read_only on, the app\'s open write transactions ended, then read the GTID position',
    script: ['set -e', `mysql -N -B -e ${readOnly} || { ${endWriters}; mysql -N -B -e ${readOnly}; }`, endWriters, `mysql -N -B -e ${shellQuote(d.primaryGtidQuery)}`].join('\n'),
  };
}

/** Put writes back on a primary whose promotion was abandoned before anything else moved. */
export function resumeWrites(d: Dialect): Command {
  return sqlCommand(d.writable, 'take writes again (the promotion was abandoned)');
}

/** On the chosen replica: wait (at most `seconds`) until it has executed `gtid`. Prints 0 when done, -1 on timeout. */
export function waitFor(d: Dialect, gtid: string, seconds: number): Command {
  return { ...sqlCommand(d.waitForGtid(gtid, seconds), `wait until it has executed ${gtid || '(nothing)'}`), deadline: 'long' };
}

/** On the chosen replica: stop the IO thread (the old primary is gone) so what it received can be applied. */
export function stopReceiving(): Command {
  return sqlCommand('STOP SLAVE IO_THREAD;', 'stop receiving from the old primary');
}

/** Make the replica the primary: forget its source, take writes. */
export function becomePrimary(d: Dialect): Command {
  return sqlCommand(`${d.stopReplica}\n${d.resetReplica}\n${d.writable}`, 'stop replicating, forget the source, take writes');
}

/**
 * Point a server at a new source. `ownHistory`: it was the primary, so it continues from its own
 * binary log's position (MariaDB's gtid_slave_pos is what it last replicated, from long ago).
 */
/** How a replica connects to its source: as apply's replication op does (tandem's CA when it has one). */
export interface ReplicationTls {
  on: boolean | undefined;
  ca?: string;
}

export function follow(d: Dialect, source: ReplicationSource & { name: string }, tls: ReplicationTls, ownHistory: boolean): Command {
  const from = ownHistory ? 'SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos;\n' : '';
  return sqlCommand(`${d.stopReplica}\n${from}${d.changeSource(source, tls.on, tls.ca)}\n${d.startReplica}`, `replicate from ${source.name} (${source.host})`, true);
}

/**
 * Write the app's database file (atomically, as apply's file op leaves it: root, 0644) and have
 * the app re-read it (SIGHUP through its unit's ExecReload), in one round trip: it is inside the
 * write window.
 */
export function pointApp(content: string): Command {
  const tmp = `${APP_DB_FILE}.tandem-new`;
  return {
    kind: 'script',
    describe: `write ${APP_DB_FILE} and reload ${APP_SERVICE}`,
    stdin: content,
    script: [
      'set -e',
      `cat > ${shellQuote(tmp)}`,
      `chown root:root ${shellQuote(tmp)}`,
      `chmod 0644 ${shellQuote(tmp)}`,
      `mv -f ${shellQuote(tmp)} ${shellQuote(APP_DB_FILE)}`,
      `systemctl reload ${shellQuote(APP_SERVICE)}`,
    ].join('\n'),
  };
}

/** Exit code of catchUpAndTakeWrites when the replica did not reach the position in time (nothing changed then). */
export const NOT_CAUGHT_UP = 3;

/**
 * On the chosen replica, in one round trip (it is inside the write window): wait until it has
 * executed `gtid` (at most `seconds`), then become the primary; exit NOT_CAUGHT_UP, changing
 * nothing, when it did not get there.
 */
export function catchUpAndTakeWrites(d: Dialect, gtid: string, seconds: number): Command {
  const become = `${d.stopReplica} ${d.resetReplica} ${d.writable}`;
  return {
    kind: 'script',
    describe: `wait until it has executed ${gtid || '(nothing)'}, then stop replicating and take writes`,
    deadline: 'long',
    okExitCodes: [0, NOT_CAUGHT_UP],
    script: [
      `waited=$(mysql -N -B -e ${shellQuote(d.waitForGtid(gtid, seconds))})`,
      `[ "$waited" = 0 ] || { echo "$waited"; exit ${NOT_CAUGHT_UP}; }`,
      `mysql -N -B -e ${shellQuote(become)}`,
    ].join('\n'),
  };
}

/** The series of the server's version ("11.8.3-MariaDB-..." -> "11.8"), for the TLS decision replication makes. */
export function seriesOf(version: string): string | undefined {
  return /^(\d+\.\d+)/.exec(version.trim())?.[1];
}

/**
 * A former primary whose history diverged: keep a dump of what it holds (the transactions the new
 * primary never saw are in it), then empty the databases replication will load and forget its
 * binary log and source, so the replica seed finds the positive evidence it needs (no tables, no
 * replication configured) and loads a dump of the primary.
 */
export function clearForSeed(d: Dialect, databases: string[], backup: string): Command {
  const drops = databases.map((db) => `DROP DATABASE IF EXISTS ${sqlIdentifier(db)};`).join(' ');
  const clear = `SET SESSION sql_log_bin = 0; ${d.stopReplica} ${d.resetReplica} ${drops} RESET MASTER;`;
  return {
    kind: 'script',
    describe: `keep a dump in ${backup}, then empty ${databases.join(', ')} and reset replication and the binary log for a re-seed`,
    deadline: 'long',
    script: [
      'set -e',
      'umask 077',
      `mkdir -p ${shellQuote(backup.replace(/\/[^/]*$/, ''))}`,
      `mysqldump --single-transaction --routines --triggers --events --databases ${databases.map(shellQuote).join(' ')} > ${shellQuote(backup)}`,
      `mysql -N -B -e ${shellQuote(clear)}`,
    ].join('\n'),
  };
}
