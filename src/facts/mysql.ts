// Facts about the database server, read with the local `mysql` client as root over its socket.
// One fact returns every section the database ops need, so it costs one section of the batch.
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
  /** "user@host" -> the lines of SHOW GRANTS. */
  grants: Map<string, string[]>;
  /** SHOW SLAVE/REPLICA STATUS as field -> value; empty when replication is not configured. */
  replica: Record<string, string>;
}

export const accountKey = (a: Account) => `${a.user}@${a.host}`;

const SECTION = '-- section ';

export function mysqlStateScript(accounts: Account[], showReplicaStatus: string): string {
  const q = (sql: string) => `mysql -N -B -e ${shellSingle(sql)}`;
  const lines = [
    `${q('SELECT 1')} >/dev/null || exit 3`,
    `echo '${SECTION}databases'`,
    q('SHOW DATABASES'),
    `echo '${SECTION}users'`,
    q("SELECT CONCAT(user, '@', host), authentication_string FROM mysql.user"),
  ];
  for (const a of accounts) {
    lines.push(`echo '${SECTION}grants ${accountKey(a)}'`);
    lines.push(`${q(`SHOW GRANTS FOR ${sqlString(a.user)}@${sqlString(a.host)}`)} || true`);
  }
  lines.push(`echo '${SECTION}replica'`, `mysql -e ${shellSingle(showReplicaStatus.replace(/\\G$/, ''))} -E || true`);
  return lines.join('\n');
}

function shellSingle(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function parseMysqlState(stdout: string, exitCode: number): MysqlState {
  const state: MysqlState = { up: exitCode === 0, databases: new Set(), users: new Map(), grants: new Map(), replica: {} };
  if (!state.up) return state;
  let section = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith(SECTION)) {
      section = line.slice(SECTION.length);
      if (section.startsWith('grants ')) state.grants.set(section.slice(7), []);
      continue;
    }
    if (!line.trim()) continue;
    if (section === 'databases') state.databases.add(line.trim());
    else if (section === 'users') {
      const [acct, auth] = line.split('\t');
      if (acct) state.users.set(acct, auth ?? '');
    } else if (section.startsWith('grants ')) state.grants.get(section.slice(7))!.push(line.trim());
    else if (section === 'replica') {
      const m = /^\s*([A-Za-z_]+):\s?(.*)$/.exec(line);
      if (m) state.replica[m[1]!] = m[2]!;
    }
  }
  return state;
}

export function mysqlStateFact(accounts: Account[], showReplicaStatus: string): Fact<MysqlState> {
  const sorted = [...accounts].sort((a, b) => accountKey(a).localeCompare(accountKey(b)));
  return {
    id: `mysql:${sorted.map(accountKey).join(',')}`,
    script: mysqlStateScript(sorted, showReplicaStatus),
    parse: parseMysqlState,
  };
}
