// One lab host's life: a fresh overlay over the base, its identity files, its supervisor, and
// the hard stop that leaves no process, mount or cgroup behind.
import { mkdir, readFile, rm, rmdir } from 'node:fs/promises';
import { applyEdits } from './edits.ts';
import { mountOverlay, nspawn, sshKeygen } from './commands.ts';
import type { LabConfig, LabHost } from './config.ts';
import { killCgroups, removeCgroups, createCgroups } from './cgroups.ts';
import { LabError } from './errors.ts';
import { runOk } from './exec.ts';
import { guestEdits } from './guest-files.ts';
import type { HostLayout } from './layout.ts';
import { isMounted, unmountAll } from './mounts.ts';
import { listProcesses, stopProcess } from './processes.ts';
import { insideRoot } from './safe-files.ts';
import { isHostProcess, isSupervisorOf, rootOf, startSupervisor } from './supervisor.ts';
import { parseCidr } from './addr.ts';
import path from 'node:path';

export interface PrepareInput {
  config: LabConfig;
  host: HostLayout;
  allHosts: readonly LabHost[];
  baseDir: string;
  authorizedKey: string;
}

const HOST_KEY = 'etc/ssh/ssh_host_ed25519_key';

/** Pristine root for the host: a new empty upper layer over the base, plus its identity. Returns its host key. */
export async function prepareHost(p: PrepareInput): Promise<string> {
  const { host } = p;
  if (await isMounted(host.root)) {
    throw new LabError(`internal: ${host.root} is still mounted`, { hint: 'run `tandem lab down` and try again' });
  }
  await mkdir(host.dir, { recursive: true, mode: 0o700 });
  await rm(host.upper, { recursive: true, force: true });
  await rm(host.work, { recursive: true, force: true });
  for (const d of [host.upper, host.work, host.root]) await mkdir(d, { recursive: true, mode: 0o755 });
  await runOk(mountOverlay(p.baseDir, host.upper, host.work, host.root), `mounting ${host.name}'s overlay`,
    'check that overlayfs works here: `modprobe overlay`, and that the state folder is not itself on overlayfs');
  await applyEdits(
    host.root,
    guestEdits({
      host: { name: host.name, address: host.address },
      allHosts: p.allHosts,
      gatewayAddress: parseCidr(p.config.gateway).address,
      authorizedKey: p.authorizedKey,
    }),
  );
  const keyFile = await insideRoot(host.root, HOST_KEY);
  await rm(keyFile, { force: true });
  await rm(`${keyFile}.pub`, { force: true });
  await runOk(sshKeygen(keyFile, `root@${host.name}`), `generating ${host.name}'s host key`);
  return hostKey(host);
}

export async function hostKey(host: HostLayout): Promise<string> {
  const file = await insideRoot(host.root, `${HOST_KEY}.pub`);
  return (await readFile(file, 'utf8')).trim();
}

/** Starts the host's supervisor in its own cgroups; returns the supervisor's PID. */
export async function startHost(host: HostLayout, cgroups: readonly string[]): Promise<number> {
  await createCgroups(cgroups);
  return startSupervisor(cgroups, nspawn({ machine: host.machine, hostname: host.name, root: host.root, netns: host.netns }), host.consoleLog);
}

export interface RunningHost {
  supervisorPid?: number;
  /** A process for this machine name that runs from another state folder. */
  foreignRoot?: string;
  pids: number[];
}

/** Which processes run this host's machine (supervisor and nspawn), found by scanning /proc. */
export async function findHostProcesses(host: HostLayout): Promise<RunningHost> {
  const procs = (await listProcesses()).filter((p) => isHostProcess(p.argv, host.machine));
  const ours = procs.filter((p) => rootOf(p.argv) === host.root);
  const foreign = procs.find((p) => rootOf(p.argv) !== host.root);
  const sup = ours.find((p) => isSupervisorOf(p.argv, host.machine));
  return {
    ...(sup ? { supervisorPid: sup.pid } : {}),
    ...(foreign ? { foreignRoot: rootOf(foreign.argv) ?? '?' } : {}),
    pids: ours.map((p) => p.pid),
  };
}

/**
 * The state folder of another checkout's lab running on the same bridge (its hosts' machine
 * names start with "<bridge>-" but their roots lie elsewhere), if any. Two labs cannot share a
 * bridge and addresses; this lab must then leave the bridge and those hosts alone.
 */
export async function findForeignLab(config: LabConfig): Promise<string | undefined> {
  const ownHosts = path.join(config.stateDir, 'hosts') + '/';
  for (const p of await listProcesses()) {
    const machine = p.argv.find((a) => a.startsWith(`--machine=${config.bridge}-`));
    if (!machine || !isHostProcess(p.argv, machine.slice('--machine='.length))) continue;
    const root = rootOf(p.argv);
    if (root && !root.startsWith(ownHosts)) return path.resolve(root, '../../..');
  }
  return undefined;
}

/**
 * Hard stop: kill the supervisor (so it restarts nothing), then every process in the host's
 * cgroups (the container's PID 1 first among them), then unmount and remove the cgroups.
 * A graceful poweroff is pointless: the overlay is thrown away.
 */
export async function stopHost(host: HostLayout, cgroups: readonly string[], knownPids: readonly number[]): Promise<number[]> {
  const found = await findHostProcesses(host);
  const pids = [...new Set([...knownPids, ...found.pids])];
  const ours = (argv: string[]) => isHostProcess(argv, host.machine) && rootOf(argv) === host.root;
  for (const pid of pids) await stopProcess(pid, ours);
  await killCgroups(cgroups);
  await unmountAll(host.root);
  await removeCgroups(cgroups);
  await rm(`/run/systemd/nspawn/propagate/${host.machine}`, { recursive: true, force: true });
  return pids;
}

/** Throws away the host's overlay (only once nothing is mounted there). */
export async function wipeHost(host: HostLayout): Promise<void> {
  if (await isMounted(host.root)) throw new LabError(`internal: ${host.root} is still mounted`);
  await rm(host.upper, { recursive: true, force: true });
  await rm(host.work, { recursive: true, force: true });
  await rmdir(host.root).catch(() => undefined);
}
