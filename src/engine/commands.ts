// Running and describing Commands. Every switch over Command.kind is exhaustive.
import { Secret, type Redactor } from '../secrets/secret.ts';
import { shellJoin } from '../ssh/quote.ts';
import type { Connection, ExecResult } from '../ssh/connection.ts';
import { CommandError } from '../errors.ts';
import type { Command, Stdin } from './types.ts';

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

/** Run one command; a failing exit code becomes a CommandError carrying the remote stderr. */
export async function runCommand(conn: Connection, cmd: Command, redactor: Redactor): Promise<ExecResult> {
  let res: ExecResult;
  let ok: number[] = [0];
  switch (cmd.kind) {
    case 'exec':
      res = await conn.exec({ argv: cmd.argv, stdin: cmd.stdin === undefined ? undefined : reveal(cmd.stdin) });
      ok = cmd.okExitCodes ?? ok;
      break;
    case 'script':
      res = await conn.exec({ script: cmd.script, stdin: cmd.stdin === undefined ? undefined : reveal(cmd.stdin) });
      ok = cmd.okExitCodes ?? ok;
      break;
    case 'put':
      res = await conn.put(cmd.path, reveal(cmd.content), { mode: cmd.mode, owner: cmd.owner, group: cmd.group, backup: cmd.backup });
      break;
    default:
      return assertNever(cmd);
  }
  if (!ok.includes(res.exitCode)) {
    const output = (res.stderr.trim() || res.stdout.trim()).split('\n').slice(-15).join('\n');
    throw new CommandError(
      redactor.redact(`\`${describeCommand(cmd, redactor)}\` exited with ${res.exitCode}${output ? `: ${output}` : ''}`),
      { host: conn.host.name },
    );
  }
  return res;
}
