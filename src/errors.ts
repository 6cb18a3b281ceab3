// The error hierarchy. Every foreseeable failure is one of these: the CLI prints its message and
// hint (never a stack), and the exit code follows from the class (src/cli/exit.ts), never from
// the text.
export interface ErrorOptions {
  cause?: unknown;
  /** The host the failure is about, when there is one. */
  host?: string;
  /** What the user can do about it; printed under the message. */
  hint?: string;
}

export class TandemError extends Error {
  readonly host?: string;
  readonly hint?: string;
  constructor(message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.host = opts.host;
    this.hint = opts.hint;
  }
}

/** Invalid input (inventory, secrets, flags, environment), found before any host is contacted. */
export class InputError extends TandemError {}

/** Bad inventory: each problem already names file, field path and reason. */
export class InventoryError extends InputError {
  readonly problems: string[];
  constructor(problems: string[], opts: Omit<ErrorOptions, 'host'> = {}) {
    super(problems.join('\n'), opts);
    this.problems = problems;
  }
}

/** A bad secret or secrets file: names the secret, never shows its value. */
export class SecretsError extends InputError {}

/** A bad command-line flag or argument (commander's own errors too). */
export class UsageError extends InputError {}

/** The connection to a host broke after it was made (the host stopped answering mid-run). */
export class ConnectionError extends TandemError {}

/** A host could not be reached at all (refused, timed out, no route, unknown name). */
export class UnreachableError extends ConnectionError {}

/** A host was reached but would not let us in (key refused, key file unreadable). */
export class AuthenticationError extends ConnectionError {}

/** The host's key is unknown, changed or revoked: we stopped before authenticating. */
export class HostKeyError extends TandemError {}

export class CommandError extends TandemError {}

export class TemplateError extends TandemError {}

export class ValidationError extends TandemError {}

export class VerificationError extends TandemError {}

/** A change, check or deploy step failed on a host; the run's report has the details. */
export class HostFailedError extends TandemError {}

/** The local lab could not do what was asked; the hint says what to do. */
export class LabError extends TandemError {}

/** Stopped by the user (Ctrl-C or SIGTERM). */
export class InterruptedError extends TandemError {}
