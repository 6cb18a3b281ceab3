// Handlers that a run owed a host and did not get to run (killed, connection lost, reload failed).
// Before an op's change that notifies a handler, a marker file is left on the host; the handler
// removes it once the service took the new configuration (or validation put the old files back).
// The next run reads the markers with its facts and runs those handlers again, so a config that
// reached the disk never silently waits for a reload that nothing will trigger.
import { sh } from '../ssh/shell.ts';
import type { Fact } from './types.ts';

const markerDir = (backupRoot: string) => `${backupRoot}/.pending-handlers`;
/** Where the marker of one owed handler lives. */
export const markerFile = (backupRoot: string, handlerId: string) => `${markerDir(backupRoot)}/${encodeURIComponent(handlerId)}`;

export function pendingHandlersFact(backupRoot: string): Fact<Set<string>> {
  return {
    id: 'tandem:pending-handlers',
    script: sh`ls -1 ${markerDir(backupRoot)} 2>/dev/null || true`,
    parse: (stdout) => new Set(stdout.split('\n').filter(Boolean).map((name) => decodeURIComponent(name))),
  };
}

export function markPendingScript(backupRoot: string, handlerIds: string[]): string {
  return [sh`mkdir -p ${markerDir(backupRoot)}`, ...handlerIds.map((id) => sh`: > ${markerFile(backupRoot, id)}`)].join(' && ');
}
