// The only way the engine reaches a host. The node-ssh implementation lives beside it; unit tests
// use a scripted fake.
import type { Duplex } from 'node:stream';
import { posix } from 'node:path';
import type { HostSpec } from '../inventory/types.ts';
import { sh } from './shell.ts';
import type { DeadlineKind } from './deadline.ts';
import type { ConnectionLostError } from '../errors.ts';

export interface ExecRequest {
  /** Exactly one of argv (quoted for the remote shell) or script (run by sh -c). */
  argv?: readonly string[];
  script?: string;
  /** Data for the command's standard input: the only way secrets travel. */
  stdin?: string | Buffer;
  /** How the command is named in messages (secrets masked); default: the argv or the script's first line. */
  describe?: string;
  /** Which deadline applies: package installs, uploads and seeding get the long one. */
  deadline?: DeadlineKind;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface PutOptions {
  mode: string;
  owner: string;
  group: string;
  /** Keep the previous content at backupPath(path, backupRoot) until a handler has validated the new one. */
  backup?: boolean;
}

/**
 * Lines a remote command writes to stderr with this tag in front are progress, not output: the
 * connection hands them over while the command runs (a wait on another process's lock) and keeps
 * them out of the result's stderr.
 */
export const PROGRESS_TAG = 'tandem-progress: ';

/** What a connection tells while a command runs: a progress line of a command (see PROGRESS_TAG). */
export type ProgressSink = (event: { host: string; command: string; message: string }) => void;

/** Split stderr into its progress messages and the rest (what a failure shows). */
export function splitProgress(stderr: string): { progress: string[]; rest: string } {
  const progress: string[] = [];
  const rest = stderr
    .split('\n')
    .filter((line) => (line.startsWith(PROGRESS_TAG) ? (progress.push(line.slice(PROGRESS_TAG.length)), false) : true))
    .join('\n');
  return { progress, rest };
}

export interface Connection {
  readonly host: HostSpec;
  /** Remote commands sent so far over this connection. */
  readonly roundTrips: number;
  /** Where put() keeps previous contents for handlers (BACKUP_ROOT on a real host). */
  readonly backupRoot: string;
  /** The commands running now (as described in messages), oldest first. */
  running(): string[];
  /** Set once a command found the connection lost: why the host failed, as its own class. */
  readonly lost?: ConnectionLostError;
  exec(req: ExecRequest): Promise<ExecResult>;
  /** Write a file atomically (temp file in the same directory, fsync, rename). */
  put(path: string, content: string | Buffer, opts: PutOptions): Promise<ExecResult>;
  /**
   * A new, separate connection to the same host with the same settings (a firewall change proves
   * with it that new connections still get in); absent where a connection cannot make another.
   */
  reopen?(): Promise<Connection>;
  /** A TCP stream to host:port as seen from the remote host (no port opened to us). */
  forward(toHost: string, toPort: number): Promise<Duplex>;
  close(): Promise<void>;
}

/**
 * Where the previous content of a file waits for its handler's validation. Outside the file's
 * own folder: services include whole folders (nginx's sites-enabled/*), so a backup beside the
 * file would be read as configuration too.
 */
export const BACKUP_ROOT = '/var/lib/tandem/backup';
export function backupPath(path: string, root: string): string {
  return `${root}${path.startsWith('/') ? '' : '/'}${path}`;
}

/** The remote script behind put(): content arrives on stdin, never on the command line. */
export function atomicPutScript(path: string, opts: PutOptions, backupRoot: string): string {
  const backup = backupPath(path, backupRoot);
  return [
    'set -e',
    sh`dir=$(dirname ${path})`,
    'tmp=$(mktemp "$dir/.tandem.XXXXXX")',
    // A deadline's TERM (or a lost link's HUP) leaves no temporary file behind either.
    `trap 'rm -f "$tmp"' EXIT`,
    "trap 'exit 143' HUP INT TERM",
    'cat > "$tmp"',
    sh`chown ${`${opts.owner}:${opts.group}`} "$tmp"`,
    sh`chmod ${opts.mode} "$tmp"`,
    'sync "$tmp" 2>/dev/null || sync',
    opts.backup ? sh`mkdir -p ${posix.dirname(backup)} && if [ -e ${path} ]; then cp -p ${path} ${backup}; else rm -f ${backup}; fi` : ':',
    sh`mv -Tf "$tmp" ${path}`,
    'trap - EXIT',
  ].join('\n');
}
