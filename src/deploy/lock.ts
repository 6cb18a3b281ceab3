// The deploy lock on each app server: a file that appears atomically with its content, recording
// who holds it, since when and until when. A live or unreadable lock refuses a second deploy; an
// expired one is taken over.
import path from 'node:path';
import { sh } from '../ssh/shell.ts';

export const LOCK_FILE = '/var/lib/tandem/deploy.lock';

export interface LockInfo {
  holder: string;
  since: string;
  until: string;
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
export function acquireScript(file = LOCK_FILE): string {
  return [
    'set -e',
    sh`f=${file}`,
    sh`mkdir -p ${path.posix.dirname(file)}`,
    'tmp=$(mktemp "$f.XXXXXX")',
    'cat > "$tmp"',
    'if ln "$tmp" "$f" 2>/dev/null; then rm -f "$tmp"; exit 0; fi',
    'rm -f "$tmp"',
    'cat "$f" || { echo "the deploy lock was released while reading it: try again" >&2; exit 1; }',
    sh`exit ${LOCK_HELD}`,
  ].join('\n');
}

/** Replace a lock we decided to take over (expired, or --force-unlock), only if it is still that lock. */
export function takeOverScript(expected: string, file = LOCK_FILE): string {
  return [
    'set -e',
    sh`f=${file}`,
    sh`[ "$(cat "$f" 2>/dev/null)" = ${expected} ] || { cat "$f"; exit ${LOCK_HELD}; }`,
    'cat > "$f.new"',
    'mv -f "$f.new" "$f"',
  ].join('\n');
}

/** Remove the lock only if it is still ours (a lock that is not ours is left, and that is no failure). */
export function releaseScript(ours: string, file = LOCK_FILE): string {
  return sh`[ "$(cat ${file} 2>/dev/null)" = ${ours} ] || exit 0\nrm -f ${file}`;
}

export function describeLock(l: LockInfo): string {
  return `${l.holder} since ${l.since} (expires ${l.until})`;
}

export type LockVerdict =
  | { action: 'refuse'; reason: string }
  | { action: 'take-over'; warning: string };

/**
 * What to do about a lock someone else holds. Only a lock we can read and whose time is up is
 * taken over by itself: an unreadable one may belong to a deploy that is running now.
 */
export function lockVerdict(existingText: string, now: Date, forceUnlock: boolean): LockVerdict {
  const existing = parseLock(existingText);
  const until = existing ? new Date(existing.until).getTime() : NaN;
  const expired = Number.isFinite(until) && until < now.getTime();
  const who = existing && Number.isFinite(until) ? describeLock(existing) : `an unreadable lock (${JSON.stringify(existingText.slice(0, 200))})`;
  if (forceUnlock) return { action: 'take-over', warning: `taking over a deploy lock (--force-unlock): ${who}` };
  if (expired) return { action: 'take-over', warning: `taking over an expired deploy lock: ${who}` };
  return {
    action: 'refuse',
    reason: `another deploy holds the lock: ${who}. Wait for it to finish, or pass --force-unlock if it is dead.`,
  };
}
