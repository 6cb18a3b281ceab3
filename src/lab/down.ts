// `tandem lab down`: stop every process the lab started (by PID), remove its mounts, cgroups,
// namespaces and bridge. The cached base image, the unpacked base and the SSH key stay.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { labCgroupParents, removeEmptyParents } from './cgroups.ts';
import type { LabConfig } from './config.ts';
import { step, type Progress } from './events.ts';
import { findForeignLab, findHostProcesses, stopHost, wipeHost } from './host.ts';
import { CGROUP_PARENT, hostLayout, paths } from './layout.ts';
import { withLock } from './lock.ts';
import { releaseNetnsDir, removeBridge, removeHostNetwork } from './network.ts';
import { preflight } from './preflight.ts';
import { stopProxy } from './proxy.ts';
import { stopPebble } from './pebble.ts';
import { readState, removeState } from './state.ts';
import { waitReaped } from './processes.ts';

export interface DownResult {
  /** Hosts that had anything (process, mount, netns) to remove. */
  stopped: string[];
  proxyStopped: boolean;
  bridgeRemoved: boolean;
}

export async function labDown(config: LabConfig, opts: { progress: Progress }): Promise<DownResult> {
  const { progress } = opts;
  await preflight();
  return withLock(config, progress, async () => {
    const state = await readState(config);
    const current = await labCgroupParents(CGROUP_PARENT);
    const parents = [...new Set([...state.cgroupParents, ...current])];
    // Every host the lab may have made: recorded, in the inventory, or with a folder in the state.
    const hostDirs = await readdir(paths.hostsDir(config)).catch(() => [] as string[]);
    const names = new Map<string, string>();
    for (const h of config.hosts) names.set(h.name, h.address);
    for (const [name, h] of Object.entries(state.hosts)) names.set(name, h.address);
    const stopped: string[] = [];
    const killed: number[] = [];
    for (const name of hostDirs) if (!names.has(name)) names.set(name, '');

    // Another checkout's lab on the same bridge: leave its hosts and the bridge alone.
    const foreign = await findForeignLab(config);
    if (foreign) progress({ type: 'warn', message: `the lab of ${foreign} runs on ${config.bridge}: leaving its hosts and the bridge alone` });

    for (const [name, known] of names) {
      const recorded = state.hosts[name];
      // A folder left by a host whose address is forgotten: the gateway stands in (no host has it).
      const address = known || config.gateway.split('/')[0]!;
      const layout = hostLayout(config, { name, address });
      const running = await findHostProcesses(layout);
      if (running.foreignRoot && !recorded) {
        await wipeHost(layout).catch(() => undefined);
        continue;
      }
      const cgroups = recorded?.cgroups ?? current.map((p) => path.join(p, layout.machine));
      const pids = [...running.pids, ...(recorded?.supervisorPid ? [recorded.supervisorPid] : [])];
      const active = pids.length > 0 || recorded !== undefined;
      const work = async () => {
        killed.push(...(await stopHost(layout, cgroups, pids)));
        const netRemoved = await removeHostNetwork(layout);
        await wipeHost(layout);
        return netRemoved;
      };
      if (active) {
        await step(progress, 'stopping', work, name);
        stopped.push(name);
      } else if (await work()) {
        stopped.push(name);
      }
    }
    const pebblePids = await stopPebble(config, state.pebblePids ?? {});
    killed.push(...pebblePids);
    if (pebblePids.length) progress({ type: 'info', message: 'stopped Pebble and pebble-challtestsrv' });
    const proxyPids = await stopProxy(config, state.proxyPid);
    killed.push(...proxyPids);
    const proxyStopped = proxyPids.length > 0;
    if (proxyStopped) progress({ type: 'info', message: 'stopped apt-cacher-ng' });
    const bridgeRemoved = foreign ? false : await removeBridge(config);
    if (bridgeRemoved) progress({ type: 'info', message: `removed the bridge ${config.bridge}` });
    if (state.bridge !== config.bridge) await removeBridge({ ...config, bridge: state.bridge });
    await removeEmptyParents(parents);
    await releaseNetnsDir();
    await removeState(config);
    await waitReaped(killed);
    return { stopped, proxyStopped, bridgeRemoved };
  });
}
