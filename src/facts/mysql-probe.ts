// One run of the `mysql` client for every database fact of a batch: each client start costs
// about 20 ms on the host, and a no-op run reads the server's state and every account.
import type { RawFact, SharedProbe } from '../engine/types.ts';
import { SQL_PRELUDE } from '../formats/sql.ts';
import { sh } from '../ssh/shell.ts';

/**
 * After each statement the client prints this three-column row (its header first). No part's
 * data can forge it: -B escapes tabs inside a value, and no part reads three columns.
 */
const MARK_HEADER = 'tandem_mark\tpart\tstatement';
const mark = (part: number, statement: number) => `tandem-mark\t${part}\t${statement}`;
const markStatement = (part: number, statement: number) => `SELECT 'tandem-mark' AS tandem_mark, ${part} AS part, ${statement} AS statement;`;

/** A statement ending in \G prints its rows vertically (`Field: value`, no header); others print a header first. */
const vertical = (statement: string) => statement.endsWith('\\G');
const terminated = (statement: string) => (vertical(statement) ? statement : `${statement};`);

/**
 * The SQL fed to the client: each part's statements, each followed by its mark. --force goes on
 * past a failing statement (SHOW GRANTS for an account that does not exist): its rows are empty.
 */
export function mysqlProbeSql(parts: readonly (readonly string[])[]): string {
  const statements = parts.flatMap((part, p) => part.flatMap((s, i) => [terminated(s), markStatement(p, i)]));
  return `${SQL_PRELUDE}${statements.join('\n')}\n`;
}

/**
 * Each part's rows as `mysql -N -B -e` would print them for its statements alone (vertical ones
 * as with -E), exit code 0; exit 3 when the server never answered or stopped before the part's
 * last mark (nothing is known of that part).
 */
export function splitMysqlParts(stdout: string, parts: readonly (readonly string[])[]): RawFact[] {
  const lines = stdout.split('\n');
  let pos = 0;
  let answering = true;
  return parts.map((part, p) => {
    const rows: string[] = [];
    for (let i = 0; answering && i < part.length; i++) {
      let at = lines.indexOf(mark(p, i), pos);
      while (at >= 0 && lines[at - 1] !== MARK_HEADER) at = lines.indexOf(mark(p, i), at + 1);
      if (at < 0) answering = false;
      else {
        const out = lines.slice(pos, at - 1);
        rows.push(...(vertical(part[i]!) ? out : out.slice(1)));
        pos = at + 1;
      }
    }
    return answering ? { stdout: rows.map((r) => `${r}\n`).join(''), exitCode: 0 } : { stdout: '', exitCode: 3 };
  });
}

export const mysqlProbe: SharedProbe = {
  key: 'mysql',
  script: (parts) => sh`printf '%s' ${mysqlProbeSql(parts)} | mysql --force -B`,
  split: (stdout, _exitCode, parts) => splitMysqlParts(stdout, parts),
};
