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

/** Whether a command cut off by a lost connection may still run: the server answers again, or it does not. */
export type ServerAfterLoss = 'answers' | 'silent';

/** The connection dropped while a command ran: the command's fate on the server is unknown. */
export class ConnectionLostError extends ConnectionError {
  readonly command: string;
  readonly server: ServerAfterLoss;
  constructor(f: { host: string; command: string; server: ServerAfterLoss; cause?: unknown }) {
    const fate =
      f.server === 'answers'
        ? 'the server still answers, so the command may still be running there'
        : 'the server does not answer (down or cut off): the command stopped if the server went down, and may still run if only the link broke';
    super(`connection to ${f.host} lost while running \`${f.command}\`: ${fate}`, {
      host: f.host,
      cause: f.cause,
      hint: `when ${f.host} answers again, re-run: tandem repairs what the command left half-done`,
    });
    this.command = f.command;
    this.server = f.server;
  }
}

/** A host could not be reached at all (refused, timed out, no route, unknown name). */
export class UnreachableError extends ConnectionError {}

/** A host was reached but would not let us in (key refused, key file unreadable). */
export class AuthenticationError extends ConnectionError {}

/** The host's key is unknown, changed or revoked: we stopped before authenticating. */
export class HostKeyError extends TandemError {}

/** What every failed remote command reports, whoever ran it (engine, deploy, status, verify). */
export interface CommandFailure {
  host: string;
  /** The command as a person reads it, secrets masked. */
  command: string;
  /** null when the command never finished (see CommandTimeoutError). */
  exitCode: number | null;
  /** Its standard error, secrets masked. */
  stderr: string;
  /** Its standard output (secrets masked): shown when stderr is empty. */
  stdout?: string;
  cause?: unknown;
}

export class CommandError extends TandemError {
  declare readonly host: string;
  readonly command: string;
  readonly exitCode: number | null;
  readonly stderr: string;
  /** The message without the host in front, for reports that already name the host. */
  readonly detail: string;
  constructor(f: CommandFailure, detail?: string) {
    const output = (f.stderr.trim() || (f.stdout ?? '').trim()).split('\n').slice(-15).join('\n');
    const text = detail ?? `\`${f.command}\` exited with ${f.exitCode}${output ? `: ${output}` : ''}`;
    super(`${f.host}: ${text}`, { host: f.host, cause: f.cause });
    this.command = f.command;
    this.exitCode = f.exitCode;
    this.stderr = f.stderr;
    this.detail = text;
  }
}

export class TemplateError extends TandemError {}

export class ValidationError extends TandemError {}

export class VerificationError extends TandemError {}

/** A change, check or deploy step failed on a host; the run's report has the details. */
export class HostFailedError extends TandemError {}

/** The certificate authority refused or failed an order (ACME), or its directory could not be reached. */
export class CertificateError extends TandemError {}

/** The local lab could not do what was asked; the hint says what to do. */
export class LabError extends TandemError {}

/** Stopped by the user (Ctrl-C or SIGTERM). */
export class InterruptedError extends TandemError {}

/** Another tandem run holds a host's run lock: this run was refused before changing anything. */
export class RunLockedError extends TandemError {
  /** Who holds it, as the lock says: user@host (verb, pid) since ... (expires ...). */
  readonly holder: string;
  constructor(message: string, opts: ErrorOptions & { holder: string }) {
    super(message, opts);
    this.holder = opts.holder;
  }
}
/** A remote command that missed its deadline: killed on the server, or the server stopped answering. */
export class CommandTimeoutError extends CommandError {
  readonly seconds: number;
  constructor(f: { host: string; command: string; seconds: number; stderr?: string; cause?: unknown }) {
    super({ host: f.host, command: f.command, exitCode: null, stderr: f.stderr ?? '', cause: f.cause }, `no answer in ${f.seconds} s from \`${f.command}\``);
    this.seconds = f.seconds;
  }
}
