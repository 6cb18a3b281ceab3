// The deploy lock on each app server: a file created atomically (noclobber), recording who holds
// it, since when and until when. A live lock refuses a second deploy; an expired one is taken over.
import { shellQuote } from '../ssh/quote.ts';

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

/** Create the lock only if absent; otherwise print the current one and exit 3. */
export function acquireScript(): string {
  const f = shellQuote(LOCK_FILE);
  return `mkdir -p /var/lib/tandem\nif ( set -C; cat > ${f} ) 2>/dev/null; then exit 0; fi\ncat ${f}\nexit 3`;
}

/** Replace a lock we decided to take over (expired, or --force-unlock), only if it is still that lock. */
export function takeOverScript(expected: string): string {
  const f = shellQuote(LOCK_FILE);
  return `set -e\n[ "$(cat ${f} 2>/dev/null)" = ${shellQuote(expected)} ] || { cat ${f}; exit 3; }\ncat > ${f}.new\nmv -f ${f}.new ${f}`;
}

/** Remove the lock only if it is still ours. */
export function releaseScript(ours: string): string {
  const f = shellQuote(LOCK_FILE);
  return `[ "$(cat ${f} 2>/dev/null)" = ${shellQuote(ours)} ] && rm -f ${f}; exit 0`;
}

export function describeLock(l: LockInfo): string {
  return `${l.holder} since ${l.since} (expires ${l.until})`;
}
