// Booting a set of hosts from pristine: network, fresh overlay and identity, pinned host keys,
// supervisors started, then sshd answering. Shared by `up` and `reset`.
import { parseCidr } from './addr.ts';
import type { LabConfig, LabHost } from './config.ts';
import { findHostProcesses, prepareHost, startHost } from './host.ts';
import type { BaseImage } from './image.ts';
import { updateKnownHosts } from './known-hosts.ts';
import { hostLayout, type HostLayout } from './layout.ts';
import { createHostNetwork, flushNeighbours, hostNetworkReady } from './network.ts';
import { waitForSsh } from './probe.ts';
import { writeState, type LabState } from './state.ts';

export interface BootPlan {
  hosts: readonly HostLayout[];
  /** Every host of the lab (for /etc/hosts). */
  allHosts: readonly LabHost[];
  authorizedKey: string;
  bootTimeoutMs: number;
  freshNetwork: boolean;
  /** Where each host's cgroups go: reset keeps the recorded ones, up uses the current parents. */
  cgroupsFor: (host: HostLayout) => string[];
  /** The base image (so the release) each host boots from. */
  baseFor: (host: HostLayout) => BaseImage;
}

/** Starts hosts (fresh overlays) in parallel and waits for their sshd; records them in state. */
export async function bootHosts(config: LabConfig, state: LabState, plan: BootPlan): Promise<void> {
  const { hosts, allHosts, authorizedKey, bootTimeoutMs, freshNetwork, cgroupsFor, baseFor } = plan;
  const subnet = parseCidr(config.gateway);
  const others = Object.entries(state.hosts).map(([name, h]) => hostLayout(config, { name, address: h.address }));
  const keys: { address: string; key: string }[] = [];
  for (const host of hosts) {
    if (freshNetwork || !(await hostNetworkReady(host))) await createHostNetwork(config, host);
    await flushNeighbours(config, host, others.filter((o) => o.name !== host.name));
    keys.push({ address: host.address, key: await prepareHost({ config, host, allHosts, baseDir: baseFor(host).dir, authorizedKey }) });
  }
  await updateKnownHosts(config.knownHostsPath, keys);
  for (const host of hosts) {
    const cgroups = cgroupsFor(host);
    const base = baseFor(host);
    state.hosts[host.name] = { address: host.address, cgroups, release: base.release, baseDir: base.dir };
    await writeState(config, state); // recorded before it starts, so `down` can always undo it
    state.hosts[host.name]!.supervisorPid = await startHost(host, cgroups);
    await writeState(config, state);
  }
  await Promise.all(
    hosts.map((h) =>
      waitForSsh(subnet, h.address, bootTimeoutMs, h.consoleLog, async () => !!(await findHostProcesses(h)).supervisorPid),
    ),
  );
}
