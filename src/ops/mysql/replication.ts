// GTID replication on a replica. A healthy replica is left alone; one that was never set up is
// seeded from a consistent dump of the primary, then started; an IO error (credentials, network)
// is repaired by pointing it at the source again; an SQL error is reported, never papered over.
// Seeding loads a dump over the replica's databases, so it acts only on positive evidence: the
// server answers, no replication is configured, and the databases to load hold no tables. The
// seed script checks that again on the server right before loading, so a stale fact cannot
// make it destroy data; when in doubt it refuses and says what it saw.
import { mysqlStateFact, type MysqlState } from '../../facts/mysql.ts';
import { mariadbSeries, platformFact, type Platform } from '../../facts/platform.ts';
import { peerFact } from '../../engine/facts.ts';
import { Secret } from '../../secrets/secret.ts';
import { ValidationError } from '../../errors.ts';
import type { Change, Command, Op } from '../../engine/types.ts';
import { shellJoin, shellQuote } from '../../ssh/shell.ts';
import type { Dialect } from './dialect.ts';
import { SQL_PRELUDE, sqlString } from '../../formats/sql.ts';
import { optionName, optionValue } from '../../formats/index.ts';
import { framed, unframeScript } from '../../formats/stdin-frames.ts';
import { sqlCommand } from './ops.ts';

export interface ReplicationArgs {
  dialect: Dialect;
  primary: { name: string; address: string; port: number };
  user: string;
  password: Secret;
  /** Databases copied from the primary before replication starts. */
  databases: string[];
  /**
   * tandem's CA on the replica (MariaDB): replication always uses TLS and checks the primary's
   * certificate against it, whatever MariaDB the primary runs.
   */
  tlsCa?: string;
}

/** Dump from the primary, load without binary logging, then start from the dump's GTID position. */
export function seedScript(args: ReplicationArgs): string {
  const d = args.dialect;
  return [
    'set -e',
    'umask 077',
    'work=$(mktemp -d)',
    `trap 'rm -rf "$work"' EXIT`,
    // stdin: the client options (with the password), then the SQL that starts replication.
    ...unframeScript(['"$work/client.cnf"', '"$work/change.sql"']),
    ...dumpScript(`mysqldump --defaults-extra-file="$work/client.cnf" ${shellJoin(d.dumpFlags)} --databases ${shellJoin(args.databases)}`),
    ...seedGuard(args),
    `mysql --batch --init-command='SET SESSION sql_log_bin=0' < "$work/dump.sql"`,
    `gtid=$(sed -n "s/.*gtid_slave_pos='\\([^']*\\)'.*/\\1/p" "$work/dump.sql" | head -n1)`,
    d.engine === 'mariadb' ? `{ echo "SET GLOBAL gtid_slave_pos='$gtid';"; cat "$work/change.sql"; } | mysql --batch` : 'mysql --batch < "$work/change.sql"',
  ].join('\n');
}

/** How many times the dump is tried when a table's definition changes under it. */
export const DUMP_ATTEMPTS = 3;

/**
 * The dump into "$work/dump.sql", tried again (up to DUMP_ATTEMPTS) when the server answers 1412
 * (ER_TABLE_DEF_CHANGED: "please retry transaction"): an app starting on another host creates
 * or alters its table on the primary while the dump's transaction runs, which a fleet's first
 * apply does. Any other failure ends the script at once with mysqldump's exit code and words.
 */
export function dumpScript(dump: string): string[] {
  return [
    'attempt=1',
    `until ${dump} > "$work/dump.sql" 2> "$work/dump.err"; do`,
    '  code=$?',
    `  if [ "$attempt" -ge ${DUMP_ATTEMPTS} ] || ! grep -q 'Error 1412' "$work/dump.err"; then cat "$work/dump.err" >&2; exit "$code"; fi`,
    '  attempt=$((attempt + 1))',
    '  sleep 1',
    'done',
    'cat "$work/dump.err" >&2',
  ];
}

/**
 * Right before the dump is loaded, the evidence again, read on the server itself: it answers, no
 * replication is configured, and the databases to load hold no tables. Anything else stops the
 * seed with what was found (exit 3), before anything is loaded.
 */
export function seedGuard(args: ReplicationArgs): string[] {
  const d = args.dialect;
  const status = shellQuote(d.showReplicaStatus.replace(/\\G$/, ''));
  const schemas = args.databases.map(sqlString).join(', ');
  const held = shellQuote(
    `SELECT IFNULL(GROUP_CONCAT(CONCAT(table_schema, ' holds ', n, ' table(s)') SEPARATOR ', '), '') FROM ` +
      `(SELECT table_schema, COUNT(*) AS n FROM information_schema.tables WHERE table_schema IN (${schemas}) GROUP BY table_schema) AS t`,
  );
  const refuse = (why: string) => `{ printf '%s%s\\n' ${shellQuote(`not seeding from ${args.primary.name}, nothing was loaded: `)} "${why}" >&2; exit 3; }`;
  return [
    `configured=$(mysql -N -B -e ${status}) || ${refuse('the database does not answer')}`,
    `[ -z "$configured" ] || ${refuse('replication is already configured on this server')}`,
    `held=$(mysql -N -B -e ${held}) || ${refuse('the database does not answer')}`,
    `[ -z "$held" ] || ${refuse('$held already, and a dump would be loaded over it')}`,
  ];
}

/**
 * The [client] options file mysqldump reads to reach the primary as the replication account.
 * tls false: a primary without TLS, so the client must not insist on it (MariaDB 11.4+ clients do by default).
 */
export function clientOptions(args: ReplicationArgs, tls?: boolean): string {
  const options: [string, string | number][] = [
    ['host', args.primary.address],
    ['port', args.primary.port],
    ['user', args.user],
    ['password', args.password.reveal()],
    // tandem's CA: TLS, and the primary's certificate checked against it (the account requires TLS).
    ...(args.tlsCa ? [['ssl-ca', args.tlsCa] as [string, string]] : []),
  ];
  const flags = tls === false ? 'skip-ssl\n' : args.tlsCa ? 'ssl-verify-server-cert\n' : '';
  return `[client]\n${options.map(([name, value]) => `${optionName(name)} = ${optionValue(value)}\n`).join('')}${flags}`;
}

/** The stdin of seedScript: framed, so no value can pass for the boundary between the two files. */
export function seedInput(args: ReplicationArgs, tls?: boolean): Secret {
  const d = args.dialect;
  return new Secret(framed([clientOptions(args, tls), `${SQL_PRELUDE}${d.changeSource(source(args), tls, args.tlsCa)}\n${d.startReplica}\n`]));
}

function source(args: ReplicationArgs) {
  return { host: args.primary.address, port: args.primary.port, user: args.user, password: args.password.reveal() };
}

/**
 * TLS to the primary, decided by the MariaDB series it runs (its first reading in this run), or
 * undefined when that is unknown (the primary is not part of the run) or the engine decides.
 */
function tlsTo(args: ReplicationArgs, primary: Platform | undefined): boolean | undefined {
  if (args.tlsCa) return true;
  const series = primary && mariadbSeries(primary);
  return series === undefined ? undefined : args.dialect.replicationTls(series);
}

export function planReplication(args: ReplicationArgs, have: MysqlState, primary?: Platform): Change | null {
  const d = args.dialect;
  const s = d.status;
  const r = have.replica;
  const factId = mysqlStateFact(d.showReplicaStatus).id;
  const tls = tlsTo(args, primary);
  const mustKnowTls = () => {
    if (d.engine === 'mariadb' && tls === undefined) {
      throw new ValidationError(
        `replication needs to know which MariaDB ${args.primary.name} runs (to tell whether it offers TLS), and ${args.primary.name} ` +
          `is not part of this run or was not reached: run apply with ${args.primary.name} among the hosts (--limit)`,
      );
    }
  };
  const restart = (why: string): Change => {
    mustKnowTls();
    return {
      summary: why,
      commands: [sqlCommand(`${d.stopReplica}\n${d.changeSource(source(args), tls, args.tlsCa)}\n${d.startReplica}`, { secret: true, describe: why })],
      invalidates: [factId],
    };
  };
  if (!have.up) {
    // Not answering is not evidence of an empty server: it may hold a replica's data.
    throw new ValidationError(
      `the database on this server does not answer, so what it holds is unknown: replication was neither checked nor seeded. ` +
        `Start it (systemctl start ${d.service}; its log: journalctl -u ${d.service}), then run apply again.`,
    );
  }
  if (Object.keys(r).length === 0) {
    const holding = args.databases.filter((db) => (have.tables.get(db) ?? 0) > 0);
    if (holding.length) {
      throw new ValidationError(
        `replication is not configured here, but ${holding.map((db) => `${db} holds ${have.tables.get(db)} table(s)`).join(' and ')}: ` +
          `seeding would load a dump of ${args.primary.name} over them, so nothing was done. If that data is disposable, drop ` +
          `${holding.length > 1 ? 'those databases' : 'that database'} and run apply again; otherwise set up replication by hand.`,
      );
    }
    mustKnowTls();
    const cmd: Command = {
      kind: 'script',
      script: seedScript(args),
      stdin: seedInput(args, tls),
      describe: `seed ${args.databases.join(', ')} from a dump of ${args.primary.name}, then start replication`,
      deadline: 'long',
    };
    return {
      summary: `seed from a consistent dump of ${args.primary.name} (${args.databases.join(', ')}) and start GTID replication`,
      commands: [cmd],
      invalidates: [factId],
    };
  }
  if (r[s.sourceHost] !== args.primary.address || r[s.sourceUser] !== args.user) {
    return restart(`point replication at ${args.primary.name} (${args.primary.address}) as ${args.user}, was ${r[s.sourceHost]} as ${r[s.sourceUser]}`);
  }
  if (args.tlsCa && (r[s.tls] !== 'Yes' || r[s.tlsCa] !== args.tlsCa)) {
    return restart(`replicate from ${args.primary.name} with TLS, its certificate checked against tandem's CA`);
  }
  if (tls !== undefined && (r[s.tls] === 'Yes') !== tls) {
    return restart(`replicate from ${args.primary.name} ${tls ? 'with TLS (its MariaDB makes its own certificate)' : 'without TLS (its MariaDB has none)'}`);
  }
  const io = r[s.ioRunning];
  const sql = r[s.sqlRunning];
  if (io === 'Yes' && sql === 'Yes') return null;
  if (r[s.lastSqlError]) {
    // Applying the primary's changes failed: skipping or re-seeding could lose data. A person decides.
    throw new ValidationError(
      `replication is broken and was left as it is: the SQL thread stopped with "${r[s.lastSqlError]}". ` +
        `Skipping or re-seeding could lose data, so a person decides: on this server, ${d.showReplicaStatus.replace(/\\G$/, '')} names the failing event; ` +
        `make the replica's data agree with the primary's, run ${d.startReplica.replace(/;$/, '')} and check the SQL thread runs, then run apply again.`,
    );
  }
  if (r[s.lastIoError]) return restart(`repair replication (IO thread: ${r[s.lastIoError]})`);
  if (io === 'Connecting') return null; // starting up; the verifier tells whether it connects
  return restart(`start replication (IO ${io ?? 'unknown'}, SQL ${sql ?? 'unknown'})`);
}

export function replication(args: ReplicationArgs): Op {
  const fact = mysqlStateFact(args.dialect.showReplicaStatus, args.dialect.service);
  const primary = peerFact(args.primary.name, platformFact);
  return {
    id: `mysql replication from ${args.primary.name}`,
    facts: [fact, primary],
    plan: (f) => planReplication(args, f.get(fact), f.get(primary)),
  };
}
