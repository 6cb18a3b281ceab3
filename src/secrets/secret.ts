// A value that must never be printed. Its string forms are masked; only reveal() gives the value,
// and a Redactor masks any text that might carry it (diffs, stderr, error messages).
import { envValue, optionValue } from '../formats/index.ts';
import { sqlString } from '../formats/sql.ts';
import { shellQuote } from '../ssh/shell.ts';

export const MASK = '********';

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return MASK;
  }
  toJSON(): string {
    return MASK;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${MASK})`;
  }
}

const unquote = (s: string) => (/^(["']).*\1$/s.test(s) ? s.slice(1, -1) : s);

/** Writes a format cannot hold give nothing: then the secret never appears in that form. */
function attempt(write: (v: string) => string, value: string): string | undefined {
  try {
    return write(value);
  } catch {
    return undefined;
  }
}

/**
 * The forms a secret takes in what tandem writes or a program echoes back: as it is, escaped in
 * an environment file, an option file, SQL, a shell word, JSON and a URL.
 */
export function secretForms(value: string): string[] {
  // Written forms lose the quotes around them: what matters is the text between.
  const written = [attempt(envValue, value), attempt(optionValue, value), sqlString(value), shellQuote(value), JSON.stringify(value)];
  const forms = [value, encodeURIComponent(value), ...written.filter((f): f is string => f !== undefined).map(unquote)];
  return [...new Set(forms)].filter((f) => f.length > 0);
}

export class Redactor {
  readonly #values: string[];
  constructor(secrets: Iterable<Secret | string> = []) {
    // Every length, and longest first so a secret that contains another is masked whole.
    this.#values = [...new Set([...secrets].flatMap((s) => secretForms(typeof s === 'string' ? s : s.reveal())))].sort(
      (a, b) => b.length - a.length,
    );
  }
  redact(text: string): string {
    let out = text;
    for (const v of this.#values) out = out.split(v).join(MASK);
    return out;
  }
}
