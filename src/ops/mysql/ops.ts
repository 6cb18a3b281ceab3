// Database ops: databases, accounts with their grants, and GTID replication on a replica.
// Every statement reaches the server on the mysql client's stdin: passwords never sit in argv.
import { accountKey, mysqlAccountFact, mysqlStateFact, type Account, type AccountState, type MysqlState } from '../../facts/mysql.ts';
import { Secret } from '../../secrets/secret.ts';
import { ValidationError } from '../../errors.ts';
import type { Change, Command, Op } from '../../engine/types.ts';
import { SQL_PRELUDE, sqlIdentifier, sqlString } from '../../formats/sql.ts';
import type { Dialect } from './dialect.ts';

import { storedPasswordIs } from './password-hash.ts';


const quoteAccount = (a: Account) => `${sqlString(a.user)}@${sqlString(a.host)}`;

export function sqlCommand(sql: string, opts: { secret?: boolean; describe: string; noBinlog?: boolean }): Command {
  const text = SQL_PRELUDE + (opts.noBinlog ? 'SET SESSION sql_log_bin = 0;\n' : '') + sql + '\n';
  return { kind: 'script', script: 'mysql --batch', stdin: opts.secret ? new Secret(text) : text, describe: `mysql: ${opts.describe}` };
}

export interface DatabaseArgs {
  name: string;
  dialect: Dialect;
}

export function planDatabase(args: DatabaseArgs, have: MysqlState): Change | null {
  if (have.up && have.databases.has(args.name)) return null;
  return {
    summary: `create database ${args.name}`,
    commands: [sqlCommand(`CREATE DATABASE IF NOT EXISTS ${sqlIdentifier(args.name)} CHARACTER SET utf8mb4;`, { describe: `CREATE DATABASE ${args.name}` })],
    invalidates: [mysqlStateFact(args.dialect.showReplicaStatus).id],
  };
}

export function database(args: DatabaseArgs): Op {
  const fact = mysqlStateFact(args.dialect.showReplicaStatus, args.dialect.service);
  return { id: `mysql database ${args.name}`, facts: [fact], plan: (f) => planDatabase(args, f.get(fact)) };
}

export interface Grant {
  privileges: string[];
  /** `*.*` or `` `db`.* `` */
  on: string;
}

export interface AccountArgs extends Account {
  password: Secret;
  grants: Grant[];
  dialect: Dialect;
  /** Keep these statements out of the binary log (accounts local to a replica). */
  local?: boolean;
  /** Refuse connections without TLS (accounts used from another host). */
  requireSsl?: boolean;
}

/** Privilege names as SHOW GRANTS prints them on MariaDB 10.5+. */
const GRANT_ALIASES: Record<string, string> = { 'REPLICATION CLIENT': 'BINLOG MONITOR' };

export function grantsSatisfied(lines: string[], grant: Grant): boolean {
  const on = grant.on.replace(/`/g, '');
  const matching = lines.filter((l) => l.replace(/`/g, '').includes(` ON ${on} TO `));
  return grant.privileges.every((p) => {
    const names = [p, GRANT_ALIASES[p]].filter(Boolean) as string[];
    return matching.some((l) => l.includes('ALL PRIVILEGES') || names.some((n) => new RegExp(`(GRANT |, )${n}(,| ON)`).test(l)));
  });
}

export function planAccount(args: AccountArgs, have: AccountState): Change | null {
  const key = accountKey(args);
  if (have.unanswered) {
    // Not answering is not "no such account": creating it blind could fail or clobber it.
    throw new ValidationError(
      `the database on this server does not answer, so account ${key} could not be checked. Start it (systemctl start ${args.dialect.service}), then run apply again.`,
    );
  }
  const exists = have.exists;
  const statements: string[] = [];
  const notes: string[] = [];
  const identified = args.dialect.identifiedBy(args.password.reveal());
  const requireSsl = args.requireSsl ? ' REQUIRE SSL' : '';
  if (!exists) {
    statements.push(`CREATE USER IF NOT EXISTS ${quoteAccount(args)} ${identified}${requireSsl};`);
    notes.push(`create account ${key}${requireSsl ? ' (TLS required)' : ''}`);
  } else {
    if (!storedPasswordIs(have, args.password.reveal())) {
      statements.push(`ALTER USER ${quoteAccount(args)} ${identified};`);
      notes.push(`set the password of ${key}`);
    }
  }
  // ANY is what REQUIRE SSL stores; an account that requires more (X509) is left as it is. Kept
  // out of the binary log: replicas were seeded after the account was made and do not have it
  // (the replication account), so replaying the change there would stop their SQL thread.
  const requireLater = exists && args.requireSsl && (have.ssl ?? '') === '';
  if (requireLater) notes.push(`require TLS of ${key}`);
  const missing = args.grants.filter((g) => !exists || !grantsSatisfied(have.grants, g));
  for (const g of missing) statements.push(`GRANT ${g.privileges.join(', ')} ON ${g.on} TO ${quoteAccount(args)};`);
  if (missing.length && exists) notes.push(`grant ${missing.map((g) => `${g.privileges.join(', ')} ON ${g.on}`).join('; ')} to ${key}`);
  if (statements.length === 0 && !requireLater) return null;
  return {
    summary: notes.join(', '),
    commands: [
      ...(statements.length ? [sqlCommand(statements.join('\n'), { secret: true, describe: notes.join(', '), noBinlog: args.local })] : []),
      ...(requireLater ? [requireTlsCommand([args])] : []),
    ],
    invalidates: [mysqlAccountFact(args).id],
  };
}

/**
 * REQUIRE SSL on accounts that exist. Kept out of the binary log: replicas were seeded after the
 * account was made and may not have it, so replaying the change there would stop their SQL thread.
 */
export function requireTlsCommand(accounts: readonly Account[]): Command {
  return sqlCommand(accounts.map((a) => `ALTER USER ${quoteAccount(a)} REQUIRE SSL;`).join('\n'), {
    describe: `require TLS of ${accounts.map(accountKey).join(', ')}`,
    noBinlog: true,
  });
}

export function account(args: AccountArgs): Op {
  const fact = mysqlAccountFact(args, args.dialect.service);
  return { id: `mysql account ${accountKey(args)}`, facts: [fact], plan: (f) => planAccount(args, f.get(fact)) };
}
