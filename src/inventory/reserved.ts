// Names the inventory may not take: the database server's own schemas and accounts, and those
// tandem creates for itself (two ops would fight over one account forever, or the app account
// would get rights on the server's own tables).
import { REPLICATION_USER, VERIFY_DB, VERIFY_USER } from '../stack/names.ts';

const SERVER_SCHEMAS = ['mysql', 'sys', 'information_schema', 'performance_schema'];
const SERVER_ACCOUNTS = ['root', 'mysql', 'mariadb.sys', 'debian-sys-maint'];
/** tandem's own accounts (and any it adds later) start with this. */
const TANDEM_ACCOUNT_PREFIX = 'tandem_';

/** Why db.name cannot be `name`, or nothing. Names are compared without case, as the server may. */
export function reservedSchema(name: string): string | undefined {
  const n = name.toLowerCase();
  if (SERVER_SCHEMAS.includes(n)) return `${JSON.stringify(name)} is the database server's own schema; pick another name`;
  if (n === VERIFY_DB) return `${JSON.stringify(name)} is the schema tandem keeps for its own checks; pick another name`;
  return undefined;
}

/** Why db.user cannot be `user`, or nothing. */
export function reservedAccount(user: string): string | undefined {
  const u = user.toLowerCase();
  if (SERVER_ACCOUNTS.includes(u)) return `${JSON.stringify(user)} is one of the database server's own accounts; pick another name`;
  if (u === REPLICATION_USER || u === VERIFY_USER || u.startsWith(TANDEM_ACCOUNT_PREFIX)) {
    return `${JSON.stringify(user)} collides with tandem's own accounts (${REPLICATION_USER}, ${VERIFY_USER}, ${TANDEM_ACCOUNT_PREFIX}*); pick another name`;
  }
  return undefined;
}

/** Keys JavaScript gives a meaning to: as a host name they would vanish or shadow an object's own. */
export const RESERVED_KEYS = ['__proto__', 'constructor', 'prototype'];
