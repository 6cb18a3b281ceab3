// apt: install only what is missing; refresh the index only when it is old or lacks a package.
import { packagesFact, type PackagesState } from '../facts/apt.ts';
import type { Change, Command, Op } from '../engine/types.ts';

export interface AptArgs {
  packages: string[];
  /** Refresh the index when it is older than this (seconds). */
  cacheValidSeconds: number;
  /** How long to wait for another apt/dpkg to release its lock. */
  lockTimeoutSeconds?: number;
}

const ENV = ['env', 'DEBIAN_FRONTEND=noninteractive', 'NEEDRESTART_MODE=a'];

export function planApt(args: AptArgs, have: PackagesState): Change | null {
  const missing = args.packages.filter((p) => !have.installed.has(p));
  if (missing.length === 0) return null;
  const lock = `-oDPkg::Lock::Timeout=${args.lockTimeoutSeconds ?? 300}`;
  const unknown = missing.filter((p) => !have.available.has(p));
  const refresh = have.indexAgeSeconds > args.cacheValidSeconds || unknown.length > 0;
  const commands: Command[] = [];
  // Downloads and installs take minutes, not seconds: the long deadline.
  if (refresh) commands.push({ kind: 'exec', argv: [...ENV, 'apt-get', lock, '-q', 'update'], deadline: 'long' });
  commands.push({
    kind: 'exec',
    argv: [...ENV, 'apt-get', lock, '-q', '-y', '-o', 'Dpkg::Options::=--force-confold', '--no-install-recommends', 'install', ...missing],
    deadline: 'long',
  });
  return {
    summary: `install ${missing.join(', ')}${refresh ? ' (after refreshing the package index)' : ''}`,
    commands,
    invalidates: 'all',
  };
}

export function apt(args: AptArgs): Op {
  const fact = packagesFact(args.packages);
  return { id: `apt ${[...args.packages].sort().join(' ')}`, facts: [fact], plan: (f) => planApt(args, f.get(fact)) };
}
