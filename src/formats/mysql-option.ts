// MySQL/MariaDB option files (my.cnf). Rules of mysys/my_default.c: a value may be enclosed in
// quotes, which are removed when the first and last characters are the same quote; inside,
// \" \' \\ \n \t \r \b \s are escapes (any other backslash stays); `#` starts a comment outside
// quotes; a line is read into a 4096-byte buffer, so longer lines are cut.
import { asText, FormatError, PLAIN, refuseControls, refuseLongerThan } from './text.ts';

const OPTION_FILE = 'a MySQL option file';

/** The value of `name = value`: plain as it is, anything else double-quoted and escaped. */
export function optionValue(value: unknown): string {
  const s = asText(value, OPTION_FILE);
  refuseControls(s, OPTION_FILE);
  const written = PLAIN.test(s) ? s : `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  refuseLongerThan(written, 4000, OPTION_FILE);
  return written;
}

/** An option's name, such as server_id or bind-address. */
export function optionName(name: unknown): string {
  const s = asText(name, OPTION_FILE);
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(s)) throw new FormatError(`${OPTION_FILE} option name must be letters, digits, _ and -`);
  return s;
}
