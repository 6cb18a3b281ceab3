// The lab's public surface: settings, the five verbs, their events and errors.
export { labConfig, labConfigFromInventory, withHostCount, findHost, LAB_DEFAULTS } from './config.ts';
export type { LabConfig, LabHost } from './config.ts';
export { LabError, isLabError } from './errors.ts';
export type { LabEvent, Progress } from './events.ts';
export { labUp } from './up.ts';
export type { UpOptions, UpResult } from './up.ts';
export { labDown } from './down.ts';
export type { DownResult } from './down.ts';
export { labReset } from './reset.ts';
export { labBoot, labCrash } from './crash.ts';
export type { ResetOptions } from './reset.ts';
export { labStatus } from './status.ts';
export type { HostStatus, LabStatus } from './status.ts';
export { labSshArgv, runAttached } from './ssh.ts';
export { sshArgv } from './commands.ts';
export { acquireLockFile } from './lock.ts';
