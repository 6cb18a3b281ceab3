// Facts about the database server, read with the local `mysql` client as root over its socket.
// The server's state (databases, replica status) is one fact that the database and replication
// ops share; each account is a fact of its own (password hash and grants), so a change to one
// account leaves what plan knows of the others intact. All of them that a batch reads share one
// client run (mysql-probe.ts).
import type { Fact } from '../engine/types.ts';
import { sqlString } from '../formats/sql.ts';
import { mysqlProbe } from './mysql-probe.ts';
import { serviceFact } from './service.ts';

export interface Account {
  user: string;
  host: string;
}

export interface MysqlState {
  /** The server answered (installed and running). */
  up: boolean;
  databases: Set<string>;
  /** How many tables each database holds (databases without tables are absent). */
  tables: Map<string, number>;
  /** SHOW SLAVE/REPLICA STATUS as field -> value; empty when replication is not configured. */
  replica: Record<string, string>;
  /** @@GLOBAL.read_only (absent when the server did not say). */
  readOnly?: boolean;
  /** The Rpl_semi_sync_* status variables, name -> value (empty when semi-sync is not loaded). */
  semiSync?: Record<string, string>;
}

export const accountKey = (a: Account) => `${a.user}@${a.host}`;

const SECTION = '-- section ';

/** The statements of the server state, each section's rows after its `-- section` line. */
export function mysqlStateStatements(showReplicaStatus: string): string[] {
  return [
    `SELECT '${SECTION}databases'`,
    'SHOW DATABASES',
    `SELECT '${SECTION}tables'`,
    `SELECT table_schema, COUNT(*) FROM information_schema.tables WHERE table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') GROUP BY table_schema`,
    `SELECT '${SECTION}replica'`,
    `${showReplicaStatus.replace(/\\G$/, '')}\\G`,
    `SELECT '${SECTION}read_only'`,
    'SELECT @@GLOBAL.read_only',
    `SELECT '${SECTION}semisync'`,
    "SHOW GLOBAL STATUS WHERE Variable_name LIKE 'Rpl\\_semi\\_sync\\_%'",
  ];
}

/** A fact read through the shared mysql client run (see mysql-probe.ts). */
function throughClient(part: readonly string[]): Pick<Fact<unknown>, 'script' | 'shared'> {
  return { script: mysqlProbe.script([part]), shared: { probe: mysqlProbe, part } };
}

export function parseMysqlState(stdout: string, exitCode: number): MysqlState {
  const state: MysqlState = { up: exitCode === 0, databases: new Set(), tables: new Map(), replica: {}, semiSync: {} };
  if (!state.up) return state;
  let section = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith(SECTION)) {
      section = line.slice(SECTION.length);
      continue;
    }
    if (!line.trim()) continue;
    if (section === 'databases') state.databases.add(line.trim());
    else if (section === 'tables') {
      const [name, count] = line.split('\t');
      if (name && count) state.tables.set(name, Number(count));
    }
    else if (section === 'replica') {
      const m = /^\s*([A-Za-z_]+):\s?(.*)$/.exec(line);
      if (m) state.replica[m[1]!] = m[2]!;
    } else if (section === 'read_only') state.readOnly = line.trim() === '1';
    else if (section === 'semisync') {
      const [name, value] = line.split('\t');
      if (name && value !== undefined) state.semiSync![name] = value;
    }
  }
  return state;
}

/**
 * The server's state. With `service`, it depends on that unit's fact: a run that starts or
 * restarts the server re-reads it instead of acting on "the database does not answer".
 */
export function mysqlStateFact(showReplicaStatus: string, service?: string): Fact<MysqlState> {
  return { id: 'mysql:state', ...throughClient(mysqlStateStatements(showReplicaStatus)), parse: parseMysqlState, ...dependsOnService(service) };
}

const dependsOnService = (service: string | undefined) => (service ? { dependsOn: [serviceFact(service).id] } : {});

export interface AccountState {
  /** False also when the server does not answer (then `unanswered` says so). */
  exists: boolean;
  /** The server did not answer: nothing is known of the account, its absence included. */
  unanswered?: boolean;
  /** The account's authentication plugin (mysql_native_password, caching_sha2_password, ...). */
  plugin: string;
  /** The stored authentication string (password hash), as bytes: MySQL 8's carries a binary salt. */
  auth: Buffer;
  /** The lines of SHOW GRANTS. */
  grants: string[];
  /** mysql.user's ssl_type: '' (TLS not required), ANY (REQUIRE SSL), X509, SPECIFIED. */
  ssl?: string;
}

/**
 * Marks the hash line (`auth:<plugin>:<hex of the string>`); grant lines start with GRANT. Hex:
 * a caching_sha2_password salt may hold any byte, which mysql -B would escape.
 */
const AUTH = 'auth:';

/** One account: its hash (when it exists), then SHOW GRANTS (which fails when it does not). */
export function mysqlAccountFact(account: Account, service?: string): Fact<AccountState> {
  const who = `User = ${sqlString(account.user)} AND Host = ${sqlString(account.host)}`;
  return {
    id: `mysql:account:${accountKey(account)}`,
    ...throughClient([`SELECT CONCAT('${AUTH}', plugin, ':', HEX(authentication_string), ':', ssl_type) FROM mysql.user WHERE ${who}`, `SHOW GRANTS FOR ${sqlString(account.user)}@${sqlString(account.host)}`]),
    parse: parseAccount,
    ...dependsOnService(service),
  };
}

export function parseAccount(stdout: string, exitCode = 0): AccountState {
  if (exitCode === 3) return { exists: false, unanswered: true, plugin: '', auth: Buffer.alloc(0), grants: [] };
  const lines = stdout.split('\n').filter((l) => l.trim());
  const line = lines.find((l) => l.startsWith(AUTH));
  const [plugin = '', hex = '', ssl] = (line?.slice(AUTH.length) ?? '').split(':');
  return { exists: line !== undefined, plugin, auth: Buffer.from(hex, 'hex'), grants: lines.filter((l) => l !== line).map((l) => l.trim()), ...(ssl !== undefined && { ssl }) };
}
