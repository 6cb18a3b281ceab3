// systemd's two syntaxes tandem writes: environment files (EnvironmentFile=) and unit files.
//
// Environment file (systemd.exec(5), parse_env_file_internal in src/basic/env-file.c): a value
// in double quotes keeps everything verbatim except that a backslash before one of " \ ` $ stands
// for that character (a backslash before anything else stays, with the character). systemd does
// not expand $ there; it is escaped anyway so that `sh` reads the file the same way. The file must
// be valid UTF-8 without NUL, BOM or Unicode noncharacters: systemd drops a line that is not.
//
// Unit file (systemd.syntax(7), systemd.unit(5)): "%" starts a specifier everywhere, so it is
// doubled; a trailing backslash continues the line; in ExecStart= an argument may be
// double-quoted with C escapes, and "$" starts a variable ("$$" is a literal dollar).
import { asText, codePoint, FormatError, PLAIN, refuseControls } from './text.ts';

const ENV_FILE = 'a systemd environment file';
const UNIT_FILE = 'a systemd unit file';

/** Noncharacters (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF) and the byte order mark. */
function refuseNonCharacters(s: string, format: string): void {
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe || cp === 0xfeff) {
      throw new FormatError(`${format} cannot hold the noncharacter ${codePoint(ch)}`);
    }
  }
}

/** The value of a KEY=value line of an environment file. */
export function envValue(value: unknown): string {
  const s = asText(value, ENV_FILE);
  refuseControls(s, ENV_FILE);
  refuseNonCharacters(s, ENV_FILE);
  if (PLAIN.test(s)) return s;
  return `"${s.replace(/["\\`$]/g, (c) => `\\${c}`)}"`;
}

/** A setting of a unit file that holds one value (a path, a user, a description). */
export function unitValue(value: unknown): string {
  const s = asText(value, UNIT_FILE);
  refuseControls(s, UNIT_FILE);
  if (s !== s.trim()) throw new FormatError(`${UNIT_FILE} cannot hold spaces at the start or end of a value: systemd strips them`);
  if (s.endsWith('\\')) throw new FormatError(`${UNIT_FILE} cannot hold a backslash at the end of a value: systemd reads it as a continued line`);
  return s.replace(/%/g, '%%');
}

/** One argument of an ExecStart= command line (not the program itself, whose prefixes differ). */
export function unitArg(value: unknown): string {
  const s = asText(value, UNIT_FILE);
  refuseControls(s, UNIT_FILE);
  if (PLAIN.test(s)) return s;
  return `"${s.replace(/["\\%$]/g, (c) => (c === '%' ? '%%' : c === '$' ? '$$' : `\\${c}`))}"`;
}
