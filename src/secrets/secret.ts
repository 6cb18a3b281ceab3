// A value that must never be printed. Its string forms are masked; only reveal() gives the value,
// and a Redactor masks any text that might carry it (diffs, stderr, error messages).
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

export class Redactor {
  readonly #values: string[];
  constructor(secrets: Iterable<Secret | string> = []) {
    // Longest first so a secret that contains another is masked whole.
    this.#values = [...secrets]
      .map((s) => (typeof s === 'string' ? s : s.reveal()))
      .filter((v) => v.length >= 4)
      .sort((a, b) => b.length - a.length);
  }
  redact(text: string): string {
    let out = text;
    for (const v of this.#values) out = out.split(v).join(MASK);
    return out;
  }
}
