// Each host runs under a tiny shell supervisor: it moves itself into the host's cgroups (so
// nspawn, started with --keep-unit, uses them), runs systemd-nspawn, and starts it again when
// the guest reboots (nspawn exits 133 on an in-guest reboot).
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Cmd } from './exec.ts';
import { childEnv } from './exec.ts';
import { LabError } from './errors.ts';

export const SUPERVISOR_MARKER = 'tandem-lab-supervisor';

export const SUPERVISOR_SCRIPT = [
  'n=$1; shift',
  'while [ "$n" -gt 0 ]; do echo $$ > "$1/cgroup.procs" || exit 90; shift; n=$((n - 1)); done',
  'while :; do',
  '  "$@"; rc=$?',
  '  [ "$rc" -eq 133 ] || { echo "tandem lab: systemd-nspawn exited with $rc" >&2; exit "$rc"; }',
  '  echo "tandem lab: the guest rebooted; starting it again" >&2',
  'done',
].join('\n');

/** Pure: the supervisor's argv (sh -c SCRIPT MARKER N cgroup... nspawn-argv...). */
export function supervisorArgv(cgroupDirs: readonly string[], nspawn: Cmd): string[] {
  return ['sh', '-c', SUPERVISOR_SCRIPT, SUPERVISOR_MARKER, String(cgroupDirs.length), ...cgroupDirs, ...nspawn.argv];
}

/** Pure: does this argv belong to the supervisor or the nspawn of `machine`? */
export function isHostProcess(argv: readonly string[], machine: string): boolean {
  const isSupervisor = argv[3] === SUPERVISOR_MARKER;
  const isNspawn = (argv[0] ?? '').endsWith('systemd-nspawn');
  return (isSupervisor || isNspawn) && argv.includes(`--machine=${machine}`);
}

export function isSupervisorOf(argv: readonly string[], machine: string): boolean {
  return argv[3] === SUPERVISOR_MARKER && argv.includes(`--machine=${machine}`);
}

/** The --directory= of a host process (tells which state folder's lab it belongs to). */
export function rootOf(argv: readonly string[]): string | undefined {
  return argv.find((a) => a.startsWith('--directory='))?.slice('--directory='.length);
}

/** Starts the supervisor detached, its output appended to the console log; returns its PID. */
export function startSupervisor(cgroupDirs: readonly string[], nspawn: Cmd, consoleLog: string): number {
  const argv = supervisorArgv(cgroupDirs, nspawn);
  const fd = openSync(consoleLog, 'a');
  try {
    const child = spawn(argv[0]!, argv.slice(1), {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: childEnv(nspawn.env),
    });
    child.on('error', () => {});
    child.unref();
    if (child.pid === undefined) throw new LabError('cannot start the host supervisor (sh)');
    return child.pid;
  } finally {
    closeSync(fd);
  }
}
