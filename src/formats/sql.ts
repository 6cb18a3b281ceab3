// SQL string literals and identifiers for MariaDB and MySQL.
import { FormatError } from './text.ts';
const SQL_ESCAPES: Record<string, string> = { '\0': '\\0', '\n': '\\n', '\r': '\\r', '\x1a': '\\Z', '\\': '\\\\', "'": "''" };

/**
 * A string literal for MariaDB and MySQL: the characters mysql_real_escape_string escapes. It
 * relies on backslash escapes, so sessions that run it clear NO_BACKSLASH_ESCAPES (SQL_PRELUDE).
 */
export function sqlString(s: string): string {
  return `'${s.replace(/[\0\n\r\x1a\\']/g, (c) => SQL_ESCAPES[c]!)}'`;
}

/** First statements of every session that sends tandem's SQL: backslash escapes on, UTF-8 in. */
export const SQL_PRELUDE = "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '');\nSET NAMES utf8mb4;\n";

/** A quoted identifier (database, table): backticks, a backtick inside written twice; NUL is refused. */
export function sqlIdentifier(name: string): string {
  if (name.includes('\0') || name === '') throw new FormatError('an SQL identifier cannot be empty or hold NUL');
  return `\`${name.replace(/`/g, '``')}\``;
}
