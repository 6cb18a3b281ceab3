// Facts about the database server, read with the local `mysql` client as root over its socket.
// The server's state (databases, accounts, replica status) is one fact that every database op
// shares; each account's grants are a fact of their own, so no query is repeated in a batch.
import type { Fact } from '../engine/types.ts';
import { sqlString } from '../ops/mysql/dialect.ts';

export interface Account {
  user: string;
  host: string;
}

export interface MysqlState {
  /** The server answered (installed and running). */
  up: boolean;
  databases: Set<string>;
  /** "user@host" -> authentication string (password hash). */
  users: Map<string, string>;
  /** SHOW SLAVE/REPLICA STATUS as field -> value; empty when replication is not configured. */
  replica: Record<string, string>;
}

export const accountKey = (a: Account) => `${a.user}@${a.host}`;

const SECTION = '-- section ';

const query = (sql: string) => `mysql -N -B -e ${shellSingle(sql)}`;

export function mysqlStateScript(showReplicaStatus: string): string {
  return [
    `${query('SELECT 1')} >/dev/null || exit 3`,
    `echo '${SECTION}databases'`,
    query('SHOW DATABASES'),
    `echo '${SECTION}users'`,
    query("SELECT CONCAT(user, '@', host), authentication_string FROM mysql.user"),
    `echo '${SECTION}replica'`,
    `mysql -e ${shellSingle(showReplicaStatus.replace(/\\G$/, ''))} -E || true`,
  ].join('\n');
}

function shellSingle(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function parseMysqlState(stdout: string, exitCode: number): MysqlState {
  const state: MysqlState = { up: exitCode === 0, databases: new Set(), users: new Map(), replica: {} };
  if (!state.up) return state;
  let section = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith(SECTION)) {
      section = line.slice(SECTION.length);
      continue;
    }
    if (!line.trim()) continue;
    if (section === 'databases') state.databases.add(line.trim());
    else if (section === 'users') {
      const [acct, auth] = line.split('\t');
      if (acct) state.users.set(acct, auth ?? '');
    } else if (section === 'replica') {
      const m = /^\s*([A-Za-z_]+):\s?(.*)$/.exec(line);
      if (m) state.replica[m[1]!] = m[2]!;
    }
  }
  return state;
}

export function mysqlStateFact(showReplicaStatus: string): Fact<MysqlState> {
  return { id: 'mysql:state', script: mysqlStateScript(showReplicaStatus), parse: parseMysqlState };
}

/** The lines of SHOW GRANTS for one account; none when it does not exist or the server is down. */
export function mysqlGrantsFact(account: Account): Fact<string[]> {
  return {
    id: `mysql:grants:${accountKey(account)}`,
    script: `${query(`SHOW GRANTS FOR ${sqlString(account.user)}@${sqlString(account.host)}`)} 2>/dev/null || true`,
    parse: (stdout) => stdout.split('\n').map((l) => l.trim()).filter(Boolean),
  };
}
