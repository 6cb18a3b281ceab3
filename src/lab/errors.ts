// The lab's one error type: what failed, what to do about it, and the underlying cause.
export class LabError extends Error {
  /** What the user should do next; printed under the message by the CLI. */
  readonly hint: string | undefined;

  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'LabError';
    this.hint = opts.hint;
  }
}

export function isLabError(err: unknown): err is LabError {
  return err instanceof LabError;
}
