// Running and describing Commands: the one runner every part of tandem uses (engine, deploy,
// status, verify), with one error shape. Every switch over Command.kind is exhaustive.
import { Secret, type Redactor } from '../secrets/secret.ts';
import { shellJoin } from '../ssh/shell.ts';
import type { Connection, ExecResult } from '../ssh/connection.ts';
import { CommandError, ValidationError } from '../errors.ts';
import type { Command, NewConnection, OkExitCodes, Stdin } from './types.ts';

function assertNever(x: never): never {
  throw new Error(`unhandled command kind: ${JSON.stringify(x)}`);
}

function reveal(value: Stdin): string | Buffer {
  return value instanceof Secret ? value.reveal() : value;
}

/** A one-line description of a command, secrets masked. */
export function describeCommand(cmd: Command, redactor: Redactor): string {
  switch (cmd.kind) {
    case 'exec':
      return redactor.redact(shellJoin(cmd.argv) + (cmd.stdin !== undefined ? ' < (stdin)' : ''));
    case 'script':
      return redactor.redact(cmd.describe);
    case 'put':
      return `write ${cmd.path} (${cmd.owner}:${cmd.group} ${cmd.mode})`;
    default:
      return assertNever(cmd);
  }
}

/**
 * An error as a report tells it, secrets masked. A report about one host names it already, so a
 * command failure on that same host is told without it; anything else keeps its whole message.
 */
export function failureText(err: unknown, redactor: Redactor, aboutHost?: string): string {
  const text = err instanceof CommandError && err.host === aboutHost ? err.detail : err instanceof Error ? err.message : String(err);
  return redactor.redact(text);
}

/**
 * Run one command. An exit code it does not accept becomes a CommandError carrying the host, the
 * command's description, the exit code and stderr (secrets masked); a command past its deadline
 * fails with the connection's CommandTimeoutError.
 */
export async function runCommand(conn: Connection, cmd: Command, redactor: Redactor): Promise<ExecResult> {
  if (cmd.kind === 'script' && cmd.newConnection) return runOverNewConnection(conn, { ...cmd, newConnection: undefined }, cmd.newConnection, redactor);
  const describe = describeCommand(cmd, redactor);
  let res: ExecResult;
  let ok: OkExitCodes = [0];
  switch (cmd.kind) {
    case 'exec':
    case 'script': {
      const stdin = cmd.stdin === undefined ? undefined : reveal(cmd.stdin);
      const body = cmd.kind === 'exec' ? { argv: cmd.argv } : { script: cmd.script };
      res = await conn.exec({ ...body, stdin, describe, deadline: cmd.deadline });
      ok = cmd.okExitCodes ?? ok;
      break;
    }
    case 'put':
      res = await conn.put(cmd.path, reveal(typeof cmd.content === 'function' ? await cmd.content() : cmd.content), { mode: cmd.mode, owner: cmd.owner, group: cmd.group, backup: cmd.backup });
      break;
    default:
      return assertNever(cmd);
  }
  if (ok !== 'any' && !ok.includes(res.exitCode)) {
    throw new CommandError({
      host: conn.host.name,
      command: describe,
      exitCode: res.exitCode,
      stderr: redactor.redact(res.stderr),
      stdout: redactor.redact(res.stdout),
    });
  }
  return res;
}

/**
 * `cmd` over a new connection to the host, closed after it. When none opens, `otherwise` runs over
 * the run's connection, and the failure says what that means, what was done about it, and why the
 * connection failed.
 */
async function runOverNewConnection(conn: Connection, cmd: Command, how: NewConnection, redactor: Redactor): Promise<ExecResult> {
  const host = conn.host.name;
  if (!conn.reopen) throw new Error(`${host}: this connection cannot open another one (needed to ${describeCommand(cmd, redactor)})`);
  let fresh: Connection;
  try {
    fresh = await conn.reopen();
  } catch (err) {
    let after = '';
    if (how.otherwise) {
      after = await runCommand(conn, how.otherwise, redactor).then(
        () => ` Done over the open connection: ${describeCommand(how.otherwise!, redactor)}.`,
        (e: unknown) => ` Tried over the open connection, and it failed: ${describeCommand(how.otherwise!, redactor)}: ${failureText(e, redactor, host)}.`,
      );
    }
    throw new ValidationError(`${redactor.redact(how.refused)}${after} (the new connection: ${failureText(err, redactor)})`, { cause: err, host });
  }
  try {
    return await runCommand(fresh, cmd, redactor);
  } finally {
    await fresh.close();
  }
}
