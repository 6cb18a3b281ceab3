// Deadlines of remote commands. Every command runs under coreutils `timeout` on the server (so a
// command past its time is killed there, children included) and under a local timer a little
// longer (for a server that stops answering altogether). Both end in a CommandTimeoutError.
import { CommandTimeoutError } from '../errors.ts';
import { KILL_AFTER_SECONDS } from './shell.ts';
import type { ExecResult } from './connection.ts';

/** `long`: package installs, release uploads, seeding a replica. `default`: everything else. */
export type DeadlineKind = 'default' | 'long';

/** Seconds per kind of command. */
export type Deadlines = Record<DeadlineKind, number>;

export const DEFAULT_DEADLINES: Deadlines = { default: 60, long: 15 * 60 };

/**
 * The deadlines of a run: one number for every command when the user set one (the --timeout
 * flag, else ssh.command_timeout in the inventory), otherwise the defaults per kind.
 */
export function deadlinesFor(seconds: number | undefined): Deadlines {
  return seconds === undefined ? DEFAULT_DEADLINES : { default: seconds, long: seconds };
}

/**
 * How much longer than the remote `timeout` (and its KILL grace) the local timer waits: long
 * enough for the server's own verdict to arrive, so the local one only fires for a silent server.
 */
export const LOCAL_GRACE_SECONDS = KILL_AFTER_SECONDS + 2;

/** `work`, or the error of onExpire when it has not settled within ms. */
export function expireAfter<T>(work: Promise<T>, ms: number, onExpire: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onExpire()), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/** Exit codes of `timeout` when it stopped the command: 124 after TERM, 137 after KILL. */
const TIMEOUT_EXIT_CODES = [124, 137];

/** The remote `timeout` stopped the command (its exit code, once the time was up). */
export function killedByRemoteTimeout(res: Pick<ExecResult, 'exitCode' | 'durationMs'>, seconds: number): boolean {
  return TIMEOUT_EXIT_CODES.includes(res.exitCode) && res.durationMs >= seconds * 1000;
}

/**
 * Run one remote command against its deadline. `start` begins it and may register how to
 * abandon it (close the channel) when the local timer fires.
 */
export async function execWithDeadline(
  what: { host: string; command: string; seconds: number; graceSeconds?: number },
  start: (onAbandon: (abandon: () => void) => void) => Promise<ExecResult>,
): Promise<ExecResult> {
  const { graceSeconds = LOCAL_GRACE_SECONDS, ...named } = what;
  let abandon = () => {};
  const timedOut = (stderr?: string) => new CommandTimeoutError({ ...named, stderr });
  const res = await expireAfter(start((fn) => (abandon = fn)), (what.seconds + graceSeconds) * 1000, () => {
    abandon();
    return timedOut();
  });
  if (killedByRemoteTimeout(res, what.seconds)) throw timedOut(res.stderr);
  return res;
}
