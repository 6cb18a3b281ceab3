// `tandem lab up`: host packages, base image, bridge, apt proxy, then every host not yet running.
import { parseCidr } from './addr.ts';
import { labCgroupParents } from './cgroups.ts';
import { releaseInfo } from './base-recipe.ts';
import { releaseOf, withHostCount, type LabConfig, type LabHost } from './config.ts';
import { LabError } from './errors.ts';
import { step, type Progress } from './events.ts';
import { ensureHostPackages } from './host-packages.ts';
import { bootHosts } from './boot.ts';
import { findForeignLab, findHostProcesses, hostKey, stopHost, wipeHost } from './host.ts';
import { ensureBaseImages } from './image.ts';
import { updateKnownHosts } from './known-hosts.ts';
import { CGROUP_PARENT, hostLayout, type HostLayout } from './layout.ts';
import { withLock } from './lock.ts';
import { ensureBridge, removeHostNetwork } from './network.ts';
import { preflight } from './preflight.ts';
import { ensureProxy } from './proxy.ts';
import { ensurePebble, pebbleDirectoryUrl } from './pebble.ts';
import { waitForSsh } from './probe.ts';
import { ensureLabKey } from './ssh-key.ts';
import { readState, recordedBase, writeState } from './state.ts';
import path from 'node:path';

export interface UpOptions {
  /** Exactly this many hosts (extra ones beyond the inventory are generated); default: the inventory's. */
  hosts?: number;
  progress: Progress;
  /** How long to wait for each host's sshd. */
  bootTimeoutMs?: number;
}

export interface UpResult {
  started: string[];
  alreadyRunning: string[];
  stopped: string[];
  hosts: LabHost[];
  /** Hosts left running that are not among `hosts` (extra ones from an earlier --hosts N). */
  alsoRunning: string[];
}

export async function labUp(config: LabConfig, opts: UpOptions): Promise<UpResult> {
  const { progress } = opts;
  await preflight();
  const wanted = withHostCount(config, opts.hosts ?? config.hosts.length);
  return withLock(config, progress, async () => {
    await ensureHostPackages(progress);
    const state = await readState(config);
    if (state.bridge !== config.bridge || state.gateway !== config.gateway) {
      throw new LabError(`the lab is up with bridge ${state.bridge} ${state.gateway}, not the inventory's ${config.bridge} ${config.gateway}`, {
        hint: 'run `tandem lab down` first, then `tandem lab up` with the new settings',
      });
    }
    const foreign = await findForeignLab(config);
    if (foreign) {
      throw new LabError(`the lab of ${foreign} is up on the bridge ${config.bridge}`, {
        hint: 'two labs cannot share a bridge and addresses: run `tandem lab down` in that checkout first (or give this inventory another lab.bridge and lab.gateway)',
      });
    }
    const bases = await ensureBaseImages(config, wanted.hosts.map((h) => releaseOf(config, h.name)), progress);
    const baseFor = (h: { name: string }) => bases.get(releaseOf(config, h.name))!;
    const older = wanted.hosts.filter((h) => {
      const was = recordedBase(state, h.name);
      return state.hosts[h.name] && was.release === baseFor(h).release && was.baseDir !== baseFor(h).dir;
    });
    if (older.length) {
      throw new LabError(`the running lab hosts ${older.map((h) => h.name).join(', ')} use an older base image`, {
        hint: 'run `tandem lab down` then `tandem lab up` to move to the new one',
      });
    }
    // New hosts go under this process's current cgroups; earlier ones stay where they were.
    const parents = await labCgroupParents(CGROUP_PARENT);
    state.cgroupParents = [...new Set([...state.cgroupParents, ...parents])];
    const cgroupsFor = (h: HostLayout) => parents.map((p) => path.join(p, h.machine));
    const authorizedKey = await ensureLabKey(config.keyPath, progress);
    if (await ensureBridge(config)) progress({ type: 'info', message: `made the bridge ${config.bridge} ${config.gateway}` });
    const proxy = await ensureProxy(config, state.proxyPid);
    state.proxyPid = proxy.pid;
    await writeState(config, state);
    if (proxy.started) progress({ type: 'info', message: `apt-cacher-ng listens on ${config.gateway.split('/')[0]}:3142 (PID ${proxy.pid})` });
    if (config.dns) {
      const pebble = await ensurePebble(config, state.pebblePids ?? {}, config.dns);
      state.pebblePids = pebble.pids;
      await writeState(config, state);
      if (pebble.started) {
        progress({ type: 'info', message: `Pebble (ACME) at ${pebbleDirectoryUrl(config)} (PID ${pebble.pids.pebble}); its DNS answers ${config.dns.domain} with ${config.dns.addresses.join(', ')}` });
      }
    }

    // With an explicit --hosts N, hosts beyond the first N go away.
    const stopped: string[] = [];
    if (opts.hosts !== undefined) {
      for (const [name, h] of Object.entries(state.hosts)) {
        if (wanted.hosts.some((w) => w.name === name)) continue;
        const layout = hostLayout(config, { name, address: h.address });
        await step(progress, `stopping ${name} (not among the ${opts.hosts} hosts asked for)`, async () => {
          await stopHost(layout, h.cgroups, h.supervisorPid ? [h.supervisorPid] : []);
          await removeHostNetwork(layout);
          await wipeHost(layout);
        });
        delete state.hosts[name];
        stopped.push(name);
        await writeState(config, state);
      }
    }

    const alreadyRunning: string[] = [];
    const toStart: HostLayout[] = [];
    for (const host of wanted.hosts) {
      const layout = hostLayout(config, host);
      const running = await findHostProcesses(layout);
      if (running.foreignRoot) {
        throw new LabError(`a lab host named ${layout.machine} already runs from ${running.foreignRoot}`, {
          hint: 'another checkout has its lab up on the same bridge: run `tandem lab down` there first',
        });
      }
      const was = recordedBase(state, host.name).release;
      const want = releaseOf(config, host.name);
      if (running.supervisorPid && state.hosts[host.name] && was === want) {
        alreadyRunning.push(host.name);
      } else {
        if (running.supervisorPid && was !== want) {
          progress({ type: 'info', message: `${host.name} runs ${releaseInfo(was).name}; the inventory asks for ${releaseInfo(want).name}: starting it afresh` });
        }
        // Not running (or half-started): clean any remains, then it starts pristine.
        const recorded = state.hosts[host.name];
        await stopHost(layout, recorded?.cgroups ?? cgroupsFor(layout), running.pids);
        toStart.push(layout);
      }
    }
    const timeout = opts.bootTimeoutMs ?? 60_000;
    if (toStart.length) {
      await step(progress, `starting ${toStart.map((h) => `${h.name} (${h.address}, ${releaseOf(config, h.name)})`).join(', ')}`, () =>
        bootHosts(config, state, { hosts: toStart, allHosts: wanted.hosts, authorizedKey, bootTimeoutMs: timeout, freshNetwork: true, cgroupsFor, baseFor }),
      );
    }
    // Hosts that were already up: make sure their keys are pinned and sshd answers.
    const running = wanted.hosts.filter((h) => alreadyRunning.includes(h.name)).map((h) => hostLayout(config, h));
    const keys = await Promise.all(running.map(async (h) => ({ address: h.address, key: await hostKey(h) })));
    if (await updateKnownHosts(config.knownHostsPath, keys)) {
      progress({ type: 'info', message: `re-pinned host keys in ${config.knownHostsPath}` });
    }
    const subnet = parseCidr(config.gateway);
    await Promise.all(running.map((h) => waitForSsh(subnet, h.address, timeout, h.consoleLog)));
    const alsoRunning = Object.keys(state.hosts).filter((n) => !wanted.hosts.some((h) => h.name === n));
    return { started: toStart.map((h) => h.name), alreadyRunning, stopped, hosts: wanted.hosts, alsoRunning };
  });
}
