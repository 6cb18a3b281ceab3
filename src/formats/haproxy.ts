// HAProxy's configuration (configuration.txt, "Quoting and escaping"): words are separated by
// spaces, `#` starts a comment, a backslash escapes, double quotes expand environment variables
// ($NAME), single quotes take everything verbatim. Quoted and unquoted parts of a word join,
// as in a shell, so a single quote is written as '\''. Lines are limited (2048 bytes by default);
// an empty word is read as a missing one.
import { asText, FormatError, PLAIN, refuseControls, refuseLongerThan } from './text.ts';

const HAPROXY_CONFIG = 'an HAProxy configuration file';

/** One word of a configuration line. */
export function haproxyWord(value: unknown): string {
  const s = asText(value, HAPROXY_CONFIG);
  refuseControls(s, HAPROXY_CONFIG);
  refuseLongerThan(s, 1024, HAPROXY_CONFIG);
  // An empty quoted word is no word at all for HAProxy ("'string' expects <str>", 2.6).
  if (s === '') throw new FormatError(`${HAPROXY_CONFIG} cannot hold an empty word`);
  if (PLAIN.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
