// Exit codes and error reports: the one place that turns a failure into a code, a message and,
// with --json, an `error` field. The code follows from the error's class, never from its text.
import {
  AuthenticationError,
  CommandError,
  ConnectionError,
  HostFailedError,
  HostKeyError,
  InputError,
  InterruptedError,
  InventoryError,
  LabError,
  RunLockedError,
  SecretsError,
  TandemError,
  TemplateError,
  UnreachableError,
  UsageError,
  ValidationError,
  VerificationError,
} from '../errors.ts';
import type { CliContext } from './context.ts';

export const EXIT = {
  ok: 0,
  /** A change or check failed on a host (also a host that stopped answering mid-run). */
  failed: 1,
  /** plan: there are changes to apply. */
  changes: 2,
  /** A host could not be reached or authenticated (its key refused, unknown or revoked). */
  unreachable: 3,
  /** Invalid input (inventory, secrets, flags, environment): no host was contacted. */
  input: 4,
  /** status: the site serves, but not everything is healthy (a replica, a backend, one load balancer). */
  degraded: 5,
  /** status: the site or a part everyone needs is down (the primary database, every backend, a server). */
  down: 6,
  /** Another tandem run holds the run lock of a host: nothing was changed (sysexits' EX_TEMPFAIL: try again later). */
  locked: 75,
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table printed under every verb's --help (and kept in docs/cli.md). */
export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    a change or check failed on a host (or a host stopped answering mid-run)
  2    plan: changes to apply
  3    a host could not be reached or authenticated (host key unknown, changed or revoked)
  4    invalid input (inventory, secrets, flags, environment); no host was contacted
  5    status: degraded (a replica broken, lagging or out of rotation, a backend DOWN)
  6    status: down (the primary database stopped, no backend in rotation, a server not read)
  75   another tandem run holds a host's run lock; nothing was changed
  130  interrupted (Ctrl-C)`;

type ErrorClass = abstract new (...args: never[]) => Error;

/** Each class's kind (the `error.kind` of --json) and exit code; subclasses inherit unless listed. */
const BY_CLASS = new Map<ErrorClass, { kind: string; code: ExitCode }>([
  [TandemError, { kind: 'failed', code: EXIT.failed }],
  [InputError, { kind: 'input', code: EXIT.input }],
  [InventoryError, { kind: 'inventory', code: EXIT.input }],
  [SecretsError, { kind: 'secrets', code: EXIT.input }],
  [UsageError, { kind: 'usage', code: EXIT.input }],
  [ConnectionError, { kind: 'connection-lost', code: EXIT.failed }],
  [UnreachableError, { kind: 'unreachable', code: EXIT.unreachable }],
  [AuthenticationError, { kind: 'authentication', code: EXIT.unreachable }],
  [HostKeyError, { kind: 'host-key', code: EXIT.unreachable }],
  [CommandError, { kind: 'command', code: EXIT.failed }],
  [TemplateError, { kind: 'template', code: EXIT.failed }],
  [ValidationError, { kind: 'validation', code: EXIT.failed }],
  [VerificationError, { kind: 'verification', code: EXIT.failed }],
  [HostFailedError, { kind: 'failed', code: EXIT.failed }],
  [LabError, { kind: 'lab', code: EXIT.failed }],
  [InterruptedError, { kind: 'interrupted', code: EXIT.interrupted }],
  [RunLockedError, { kind: 'locked', code: EXIT.locked }],
]);

/** A Node.js system error (ENOENT, EACCES...) that escaped unwrapped: foreseeable, not a bug. */
function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

export function classify(err: unknown): { kind: string; code: ExitCode } {
  for (let p = err instanceof Error ? Object.getPrototypeOf(err) : null; p; p = Object.getPrototypeOf(p)) {
    const hit = BY_CLASS.get(p.constructor as ErrorClass);
    if (hit) return hit;
  }
  return isSystemError(err) ? { kind: 'system', code: EXIT.failed } : { kind: 'internal', code: EXIT.failed };
}

export const exitCodeOf = (err: unknown): ExitCode => classify(err).code;

/** When several failures happened, the code is the first of: 130, 4, 75, 3, 1, 6, 5, 2, 0. */
const PRECEDENCE: readonly ExitCode[] = [EXIT.ok, EXIT.changes, EXIT.degraded, EXIT.down, EXIT.failed, EXIT.unreachable, EXIT.locked, EXIT.input, EXIT.interrupted];
export const worse = (a: ExitCode, b: ExitCode): ExitCode => (PRECEDENCE.indexOf(b) > PRECEDENCE.indexOf(a) ? b : a);

/** What a verb ends with: its code, its report (the --json document) and why it failed. */
export interface Outcome {
  /** One of EXIT, except `lab ssh`, which passes on the remote command's own code. */
  code: number;
  report?: object;
  error?: unknown;
  /**
   * Already told the user: true, by the verb's text output (which --json turns off);
   * 'always', by commander, whatever the mode. Main then only puts the error in the JSON.
   */
  told?: boolean | 'always';
}

/** A verb that reached hosts: the worst failure decides the code; none, then changes (2) or 0. */
export function outcomeOf(report: object, failures: unknown[], opts: { changes?: boolean } = {}): Outcome {
  if (failures.length === 0) return { code: opts.changes ? EXIT.changes : EXIT.ok, report };
  const error = failures.reduce((a, b) => (worse(exitCodeOf(a), exitCodeOf(b)) === exitCodeOf(a) ? a : b));
  return { code: exitCodeOf(error), report, error, told: true };
}

export interface ErrorReport {
  kind: string;
  message: string;
  host?: string;
  hint?: string;
  exitCode: ExitCode;
}

export function errorReport(err: unknown, ctx: Pick<CliContext, 'redactor'>): ErrorReport {
  const { kind, code } = classify(err);
  const redact = (s: string) => ctx.redactor?.redact(s) ?? s;
  const message = redact(err instanceof Error ? err.message : String(err));
  const e = err instanceof TandemError ? err : undefined;
  return { kind, message, ...(e?.host && { host: e.host }), ...(e?.hint && { hint: redact(e.hint) }), exitCode: code };
}

/** The human form on stderr: the message and what to do; a stack only for what is a bug. */
export function printError(err: unknown, ctx: Pick<CliContext, 'redactor' | 'stderr' | 'env'>): void {
  const r = errorReport(err, ctx);
  const out = ctx.stderr;
  if (r.kind === 'internal') {
    const stack = err instanceof Error && err.stack ? ctx.redactor?.redact(err.stack) ?? err.stack : r.message;
    out.write(`internal error (please report): ${stack}\n`);
    return;
  }
  out.write(`error: ${r.message}\n`);
  if (r.hint) out.write(`  what to do: ${r.hint}\n`);
  if (r.kind === 'system') {
    if (ctx.env.TANDEM_DEBUG && err instanceof Error) out.write(`${err.stack}\n`);
    else out.write('  (set TANDEM_DEBUG=1 to see where it came from)\n');
  }
}

/** Prints what an outcome owes the user and returns its exit code. */
export function finish(ctx: CliContext, outcome: Outcome): number {
  const told = outcome.told === 'always' || (outcome.told === true && !ctx.json);
  if (outcome.error !== undefined && !told) printError(outcome.error, ctx);
  if (ctx.json) {
    const doc = {
      ...outcome.report,
      exitCode: outcome.code,
      ...(outcome.error !== undefined && { error: errorReport(outcome.error, ctx) }),
    };
    ctx.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  }
  return outcome.code;
}

/** Wraps a verb for commander: its outcome is kept for main; a throw reaches main's catch. */
export function action<A extends unknown[]>(ctx: CliContext, fn: (...args: A) => Promise<Outcome>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    ctx.outcome = await fn(...args);
  };
}
