// The deploy lock on each app server: one lock file of the kind src/lock/lock-file.ts describes,
// taken by deploy and rollback only (apply and deploy also take the run lock, src/lock/run-lock.ts).
import * as lockFile from '../lock/lock-file.ts';

export { LOCK_HELD, describeLock, parseLock, type LockInfo, type LockVerdict } from '../lock/lock-file.ts';

export const LOCK_FILE = '/var/lib/tandem/deploy.lock';

export const acquireScript = (file = LOCK_FILE): string => lockFile.acquireScript(file);
export const takeOverScript = (expected: string, file = LOCK_FILE): string => lockFile.takeOverScript(expected, file);
export const releaseScript = (ours: string, file = LOCK_FILE): string => lockFile.releaseScript(ours, file);

export function lockVerdict(existingText: string, now: Date, forceUnlock: boolean): lockFile.LockVerdict {
  return lockFile.lockVerdict(existingText, now, forceUnlock, { name: 'deploy lock', heldBy: 'another deploy holds the lock' });
}
