// The .my.cnf-style file prometheus-mysqld-exporter reads (--config.my-cnf), parsed with go-ini:
// a bare value loses what follows ` #` or ` ;` (inline comments) and its outer spaces and quotes;
// a value inside """ ... """ is kept exactly, so only a " at its end or a """ inside cannot be held.
import { asText, FormatError, refuseControls } from './text.ts';

const GO_INI = "prometheus-mysqld-exporter's option file";

/** One value, always inside triple quotes so that no character of it is read as syntax. */
export function goIniValue(value: unknown): string {
  const s = asText(value, GO_INI);
  refuseControls(s, GO_INI);
  if (s.includes('"""') || s.endsWith('"')) throw new FormatError(`${GO_INI} cannot hold three " in a row or a " at the end of a value`);
  return `"""${s}"""`;
}
