// apt: install only what is missing; refresh the index only when it is old or lacks a package;
// finish a dpkg run that was interrupted before anything else. Every command first waits, out
// loud, for another process's dpkg/apt lock (dpkg-lock.ts).
import { packagesFact, type PackagesState } from '../facts/apt.ts';
import type { Change, Command, Op } from '../engine/types.ts';
import { shellJoin } from '../ssh/shell.ts';
import { withDpkgLockWait } from './dpkg-lock.ts';

export interface AptArgs {
  packages: string[];
  /** Refresh the index when it is older than this (seconds). */
  cacheValidSeconds: number;
  /** How long to wait for another apt/dpkg to release its lock (inventory apt.lock_wait). */
  lockTimeoutSeconds?: number;
}

/** Seconds to wait for another process's dpkg lock when the inventory does not say (apt.lock_wait). */
export const DEFAULT_LOCK_WAIT_SECONDS = 120;

const ENV = ['env', 'DEBIAN_FRONTEND=noninteractive', 'NEEDRESTART_MODE=a'];

/** A dpkg/apt command that waits for the lock first; named in messages by its own argv. Downloads and installs take minutes: the long deadline. */
function lockedCommand(argv: string[], waitSeconds: number): Command {
  const apt = argv.includes('apt-get');
  return {
    kind: 'script',
    script: withDpkgLockWait(argv, waitSeconds, { aptLockOption: apt }),
    describe: `${shellJoin(argv)} (after waiting up to ${waitSeconds} s for the dpkg lock)`,
    deadline: 'long',
  };
}

export function planApt(args: AptArgs, have: PackagesState): Change | null {
  const missing = args.packages.filter((p) => !have.installed.has(p));
  if (missing.length === 0 && !have.dpkgInterrupted) return null;
  const wait = args.lockTimeoutSeconds ?? DEFAULT_LOCK_WAIT_SECONDS;
  const unknown = missing.filter((p) => !have.available.has(p));
  const refresh = missing.length > 0 && (have.indexAgeSeconds > args.cacheValidSeconds || unknown.length > 0);
  const commands: Command[] = [];
  // A dpkg run cut short (a crash, a lost connection) leaves packages unpacked but not configured:
  // apt refuses to install anything until it is finished.
  if (have.dpkgInterrupted) commands.push(lockedCommand([...ENV, 'dpkg', '--force-confold', '--configure', '-a'], wait));
  if (refresh) commands.push(lockedCommand([...ENV, 'apt-get', '-q', 'update'], wait));
  if (missing.length) {
    commands.push(lockedCommand([...ENV, 'apt-get', '-q', '-y', '-o', 'Dpkg::Options::=--force-confold', '--no-install-recommends', 'install', ...missing], wait));
  }
  const finish = have.dpkgInterrupted ? 'finish the interrupted dpkg run (dpkg --configure -a)' : '';
  const install = missing.length ? `install ${missing.join(', ')}${refresh ? ' (after refreshing the package index)' : ''}` : '';
  return {
    summary: [finish, install].filter(Boolean).join(', then '),
    commands,
    invalidates: 'all',
  };
}

export function apt(args: AptArgs): Op {
  const fact = packagesFact(args.packages);
  return { id: `apt ${[...args.packages].sort().join(' ')}`, facts: [fact], plan: (f) => planApt(args, f.get(fact)) };
}
