// keepalived's configuration (lib/parser.c): words are separated by spaces; a word in double
// quotes may hold spaces, `#` and `!` (comments outside quotes), `{` and `}`, but there is no
// escape for a double quote; a backslash escapes comment characters and, last on a line,
// continues it; `$NAME` is replaced by a definition anywhere on a line, quoted or not. A line
// starting with `@` or `~` is conditional or a sequence: quoting keeps a word from starting one.
import { asText, refuseChars, refuseControls } from './text.ts';

const KEEPALIVED_CONFIG = 'a keepalived configuration file';
const PLAIN_WORD = /^[A-Za-z0-9_.,:/+=-]+$/;

/** One word of a configuration line. */
export function keepalivedWord(value: unknown): string {
  const s = asText(value, KEEPALIVED_CONFIG);
  refuseControls(s, KEEPALIVED_CONFIG);
  if (PLAIN_WORD.test(s)) return s;
  refuseChars(s, '"', KEEPALIVED_CONFIG, 'keepalived has no escape for it');
  refuseChars(s, '\\', KEEPALIVED_CONFIG, 'keepalived reads it as an escape or a continued line');
  refuseChars(s, '$', KEEPALIVED_CONFIG, 'keepalived replaces $NAME by a definition, even in quotes');
  return `"${s}"`;
}
