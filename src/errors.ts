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

export class CommandError extends TandemError {}

export class TemplateError extends TandemError {}

export class ValidationError extends TandemError {}

export class VerificationError extends TandemError {}

export class LabError extends TandemError {}
