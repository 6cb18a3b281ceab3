// What every format writer shares: the error it throws, and the checks on the text it is given.
// Messages say which character is the problem (as a code point), never the value: values are
// often secrets.
import { TandemError } from '../errors.ts';

/** A value that a file format cannot hold. Callers name the field (see fieldValue). */
export class FormatError extends TandemError {}

/** Letters, digits and punctuation that no format tandem writes gives a meaning to. */
export const PLAIN = /^[A-Za-z0-9_.,:/@+=-]+$/;

export const codePoint = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** The value as text: strings as they are, finite numbers in decimal; anything else is refused. */
export function asText(value: unknown, format: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new FormatError(`${format} needs text or a number, not ${value === null ? 'null' : typeof value}`);
}

// C0 controls, DEL and C1 controls (Unicode category Cc): newline, NUL, tab, escape, ...
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
// With the u flag a pair of surrogates is one code point, so this matches only unpaired halves.
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** The first control character in s, if any. */
export const firstControl = (s: string): string | undefined => CONTROL.exec(s)?.[0];

/** Refuses control characters and text that is not valid Unicode (a lone surrogate has no UTF-8 form). */
export function refuseControls(s: string, format: string): void {
  const bad = firstControl(s);
  if (bad !== undefined) throw new FormatError(`${format} cannot hold a control character (${codePoint(bad)})`);
  if (LONE_SURROGATE.test(s)) throw new FormatError(`${format} cannot hold text that is not valid Unicode (a lone surrogate)`);
}

/** Refuses each character of `chars` found in s, saying why the format cannot hold it. */
export function refuseChars(s: string, chars: string, format: string, why: string): void {
  const bad = [...s].find((ch) => chars.includes(ch));
  if (bad !== undefined) throw new FormatError(`${format} cannot hold ${JSON.stringify(bad)}: ${why}`);
}

export function refuseLongerThan(s: string, bytes: number, format: string): void {
  const n = Buffer.byteLength(s, 'utf8');
  if (n > bytes) throw new FormatError(`${format} holds at most ${bytes} bytes here (this value has ${n})`);
}
