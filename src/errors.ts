// The error hierarchy. Every foreseeable failure is one of these: the CLI prints its message
// (never a stack) and the exit code follows from the kind, not from parsing the text.
export class TandemError extends Error {
  readonly host?: string;
  constructor(message: string, opts: { cause?: unknown; host?: string } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.host = opts.host;
  }
}

/** Bad inventory: the message already names file, field path and reason. */
export class InventoryError extends TandemError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.problems = problems;
  }
}

export class ConnectionError extends TandemError {}

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

export class LabError extends TandemError {}

/** A remote command that missed its deadline: killed on the server, or the server stopped answering. */
export class CommandTimeoutError extends CommandError {
  readonly seconds: number;
  constructor(f: { host: string; command: string; seconds: number; stderr?: string; cause?: unknown }) {
    super({ host: f.host, command: f.command, exitCode: null, stderr: f.stderr ?? '', cause: f.cause }, `no answer in ${f.seconds} s from \`${f.command}\``);
    this.seconds = f.seconds;
  }
}
