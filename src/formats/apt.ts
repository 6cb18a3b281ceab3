// apt's configuration files (apt.conf(5); ReadConfigFile and ParseCWord in apt-pkg): a value is a
// double-quoted string taken verbatim. There is no escape, so a value cannot hold a double quote;
// comment markers (// # /*) and ; { } are plain characters inside the quotes.
import { asText, refuseChars, refuseControls } from './text.ts';

const APT_CONFIG = 'an apt configuration file';

export function aptString(value: unknown): string {
  const s = asText(value, APT_CONFIG);
  refuseControls(s, APT_CONFIG);
  refuseChars(s, '"', APT_CONFIG, 'apt strings have no escape for it');
  return `"${s}"`;
}
