// Runs the argv commands that the pure builders in commands.ts describe. The only place in
// src/lab that starts short-lived processes.
import { spawn } from 'node:child_process';
import { LabError } from './errors.ts';
import { shellJoin } from '../ssh/shell.ts';

export interface Cmd {
  argv: string[];
  env?: Record<string, string>;
  input?: string;
  cwd?: string;
}

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type Runner = (cmd: Cmd) => Promise<CmdResult>;

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The environment for child processes: ours plus `extra`, with the sbin folders on PATH. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const dirs = (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':');
  const missing = SBIN.filter((d) => !dirs.includes(d));
  return { ...process.env, PATH: [...dirs, ...missing].join(':'), ...extra };
}

export function describe(cmd: Cmd): string {
  return shellJoin(cmd.argv);
}

/** Runs a command to completion and returns its exit code and output; never throws on exit code. */
export const run: Runner = (cmd) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = cmd.argv;
    if (!file) return reject(new LabError('internal: empty command'));
    const child = spawn(file, args, {
      cwd: cmd.cwd,
      env: childEnv(cmd.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (cause) =>
      reject(
        new LabError(`cannot run ${file}: ${cause.message}`, {
          hint: `is ${file} installed and on PATH? \`tandem lab up\` installs the lab's host packages`,
          cause,
        }),
      ),
    );
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.on('error', () => {});
    child.stdin.end(cmd.input ?? '');
  });

/** Runs a command and throws a LabError carrying its stderr when it exits non-zero. */
export async function runOk(cmd: Cmd, what: string, hint?: string, runner: Runner = run): Promise<CmdResult> {
  const result = await runner(cmd);
  if (result.code !== 0) {
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-8).join('\n');
    throw new LabError(`${what} failed (exit ${result.code}): ${describe(cmd)}\n${detail}`, {
      ...(hint === undefined ? {} : { hint }),
      cause: result,
    });
  }
  return result;
}
