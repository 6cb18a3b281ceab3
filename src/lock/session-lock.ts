// The run lock's script and decisions, pure (tested with a local sh and as tables). A run lock
// records the remote sshd session process of the connection that took it (its pid and its start
// time from /proc/PID/stat, so a reused pid cannot pass for it): that process lives exactly as
// long as the connection (every channel of one connection is its child), so the lock ends with
// the run's connection and needs no release command. A lock whose process is gone is stale and
// taken over silently.
import path from 'node:path';
import { sh } from '../ssh/shell.ts';
import type { LockInfo } from './lock-file.ts';

/** OpenSSH's per-connection process: `sshd-session` since 9.8 (Debian 13), `sshd` before (Debian 12). */
export const SSH_SESSION_NAMES = ['sshd-session', 'sshd'] as const;

export interface RunLockBody extends LockInfo {
  /** Orders two runs started together: the older (since, then nonce) wins. */
  nonce: string;
  /** "PID STARTTIME" of the sshd session process holding it (set on the server). */
  session?: string;
}

/**
 * Take the run lock at `file` for this connection, under a flock guard (released by the kernel
 * whatever happens) so that check-and-take is one step. Prints one line then the lock text:
 * `taken` (free, stale, ours already, or `expected` replaced), or `held` and the live holder's lock.
 * `sessionNames`: the process names of the connection's process (tests use their own shell).
 */
export function runLockScript(file: string, body: RunLockBody, opts: { expected?: string; sessionNames?: readonly string[] } = {}): string {
  const { session: _ignored, ...info } = body;
  const prefix = JSON.stringify(info).slice(0, -1);
  const names = (opts.sessionNames ?? SSH_SESSION_NAMES).join('|');
  return [
    sh`f=${file}`,
    sh`mkdir -p ${path.posix.dirname(file)} || exit 1`,
    'exec 9>>"$f.guard" || exit 1',
    'flock -w 10 9 || { echo "error: the run lock guard stayed busy"; exit 1; }',
    'start_of() { s=$(cat /proc/"$1"/stat 2>/dev/null) || return 1; s=${s##*) }; set -- $s; echo "${20}"; }',
    // The nearest ancestor named like the connection's process: the per-connection one, never the listener above it.
    'p=$$; me=',
    'while [ "${p:-0}" -gt 1 ]; do',
    `  case "$(cat /proc/"$p"/comm 2>/dev/null)" in ${names}) me="$p $(start_of "$p")"; break;; esac`,
    '  s=$(cat /proc/"$p"/stat 2>/dev/null) || break; s=${s##*) }; set -- $s; p=$2',
    'done',
    'if [ -s "$f" ]; then',
    '  cur=$(cat "$f")',
    `  held=$(printf '%s' "$cur" | sed -n 's/.*"session":"\\([0-9]* [0-9]*\\)".*/\\1/p')`,
    '  alive=',
    '  if [ -n "$held" ]; then set -- $held; [ "$(start_of "$1")" = "$2" ] && alive=1; else alive=1; fi',
    `  if [ -n "$alive" ] && { [ -z "$me" ] || [ "$held" != "$me" ]; } && ${opts.expected === undefined ? 'true' : sh`[ "$cur" != ${opts.expected} ]`}; then printf 'held\\n%s\\n' "$cur"; exit 0; fi`,
    'fi',
    sh`printf '%s,"session":"%s"}' ${prefix} "$me" > "$f.new" && mv -f "$f.new" "$f" || exit 1`,
    `printf 'taken\\n'; cat "$f"; echo`,
  ].join('\n');
}

/**
 * `untied`: no process of the connection was found (a setup where the command's shell has no
 * sshd ancestor in sight), so the lock cannot end with the connection: it must be released.
 */
export type LockReading = { state: 'taken'; untied?: string } | { state: 'held'; lock: string } | { state: 'error'; text: string };

export function parseLockReading(stdout: string, exitCode: number): LockReading {
  const [first, ...rest] = stdout.split('\n');
  if (exitCode === 0 && first === 'taken') {
    const lock = rest.join('\n').trim();
    return lock.includes('"session":""') ? { state: 'taken', untied: lock } : { state: 'taken' };
  }
  if (exitCode === 0 && first === 'held') return { state: 'held', lock: rest.join('\n').trim() };
  return { state: 'error', text: `taking the run lock failed (exit ${exitCode}): ${stdout.trim().slice(0, 200)}` };
}

/**
 * Two runs started together may each win some hosts. The older (earlier since, then smaller
 * nonce) waits for the younger's locks to go; the younger gives up (its locks end with its
 * connections) and is refused. A lock held by a run going on for longer is always older.
 */
export function contention(mine: Pick<RunLockBody, 'since' | 'nonce'>, theirs: Partial<RunLockBody>): 'wait' | 'refuse' {
  if (!theirs.since || !theirs.nonce) return 'refuse';
  const a = Date.parse(mine.since);
  const b = Date.parse(theirs.since);
  if (!Number.isFinite(b)) return 'refuse';
  return a < b || (a === b && mine.nonce < theirs.nonce) ? 'wait' : 'refuse';
}
