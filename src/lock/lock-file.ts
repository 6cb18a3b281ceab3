// Lock files on servers: a file that appears atomically with its content, recording who holds it
// (user@control-host, pid, verb), since when and until when. A live or unreadable lock refuses a
// second holder; an expired one (or any, with --force-unlock) is taken over. The deploy lock and
// the run lock are two files of this kind.
import path from 'node:path';
import { sh } from '../ssh/shell.ts';

export interface LockInfo {
  holder: string;
  since: string;
  until: string;
  /** The holder's process on its control host, and the verb it runs (run lock). */
  pid?: number;
  verb?: string;
  /** The control host's machine id: tells two control hosts of the same name apart. */
  hostId?: string;
}

export function parseLock(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    return v.holder && v.since && v.until ? (v as LockInfo) : undefined;
  } catch {
    return undefined;
  }
}

/** Exit code of the lock scripts when another lock is in the way (its text on stdout). */
export const LOCK_HELD = 3;

/**
 * Create the lock only if absent. The content (stdin) goes into a temporary file first, which is
 * then hard-linked to the lock's name: `ln` fails if the name exists, so a reader never sees a
 * half-written lock. Otherwise print the current lock and exit LOCK_HELD.
 */
export function acquireScript(file: string): string {
  return [
    'set -e',
    sh`f=${file}`,
    sh`mkdir -p ${path.posix.dirname(file)}`,
    'tmp=$(mktemp "$f.XXXXXX")',
    'cat > "$tmp"',
    'if ln "$tmp" "$f" 2>/dev/null; then rm -f "$tmp"; exit 0; fi',
    'rm -f "$tmp"',
    'cat "$f" || { echo "the lock was released while reading it: try again" >&2; exit 1; }',
    sh`exit ${LOCK_HELD}`,
  ].join('\n');
}

/** Replace a lock we decided to take over (expired, or --force-unlock), only if it is still that lock. */
export function takeOverScript(expected: string, file: string): string {
  return [
    'set -e',
    sh`f=${file}`,
    sh`[ "$(cat "$f" 2>/dev/null)" = ${expected} ] || { cat "$f"; exit ${LOCK_HELD}; }`,
    'cat > "$f.new"',
    'mv -f "$f.new" "$f"',
  ].join('\n');
}

/** Remove the lock only if it is still ours (a lock that is not ours is left, and that is no failure). */
export function releaseScript(ours: string, file: string): string {
  return sh`[ "$(cat ${file} 2>/dev/null)" = ${ours} ] || exit 0\nrm -f ${file}`;
}

export function describeLock(l: LockInfo): string {
  const what = [l.verb, l.pid !== undefined ? `pid ${l.pid}` : undefined].filter(Boolean).join(', ');
  return `${l.holder}${what ? ` (${what})` : ''} since ${l.since} (expires ${l.until})`;
}

export type LockVerdict =
  | { action: 'refuse'; reason: string; holder: string }
  | { action: 'take-over'; warning: string };

/**
 * What to do about a lock someone else holds. Only a lock we can read and whose time is up is
 * taken over by itself: an unreadable one may belong to a run that is going on now. `name` says
 * which lock ("deploy lock", "run lock"), `heldBy` how a refusal starts.
 */
export function lockVerdict(existingText: string, now: Date, forceUnlock: boolean, names: { name: string; heldBy: string } = { name: 'deploy lock', heldBy: 'another deploy holds the lock' }): LockVerdict {
  const existing = parseLock(existingText);
  const until = existing ? new Date(existing.until).getTime() : NaN;
  const expired = Number.isFinite(until) && until < now.getTime();
  const who = existing && Number.isFinite(until) ? describeLock(existing) : `an unreadable lock (${JSON.stringify(existingText.slice(0, 200))})`;
  if (forceUnlock) return { action: 'take-over', warning: `taking over a ${names.name} (--force-unlock): ${who}` };
  if (expired) return { action: 'take-over', warning: `taking over an expired ${names.name}: ${who}` };
  return {
    action: 'refuse',
    holder: who,
    reason: `${names.heldBy}: ${who}. Wait for it to finish, or pass --force-unlock if it is dead.`,
  };
}
