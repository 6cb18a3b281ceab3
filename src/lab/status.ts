// `tandem lab status`: each host, its address, whether it runs and whether sshd answers.
import { parseCidr } from './addr.ts';
import type { LabConfig } from './config.ts';
import { findHostProcesses } from './host.ts';
import { hostLayout } from './layout.ts';
import { linkExists } from './network.ts';
import { sshBanner } from './probe.ts';
import { proxyRunning } from './proxy.ts';
import { readState } from './state.ts';

export interface HostStatus {
  name: string;
  address: string;
  running: boolean;
  /** sshd's banner, or undefined when nothing answers on port 22. */
  sshBanner?: string;
}

export interface LabStatus {
  up: boolean;
  bridge: { name: string; gateway: string; present: boolean };
  proxy: { running: boolean; pid?: number };
  hosts: HostStatus[];
}

export async function labStatus(config: LabConfig): Promise<LabStatus> {
  const state = await readState(config);
  const subnet = parseCidr(config.gateway);
  const hosts = Object.keys(state.hosts).length
    ? Object.entries(state.hosts).map(([name, h]) => ({ name, address: h.address }))
    : config.hosts;
  const present = process.platform === 'linux' && (await linkExists(config.bridge).catch(() => false));
  const statuses = await Promise.all(
    hosts.map(async (h): Promise<HostStatus> => {
      const running = !!(await findHostProcesses(hostLayout(config, h))).supervisorPid;
      const banner = present ? await sshBanner(subnet, h.address, 1000) : undefined;
      return { name: h.name, address: h.address, running, ...(banner ? { sshBanner: banner } : {}) };
    }),
  );
  const proxyUp = await proxyRunning(config, state.proxyPid);
  return {
    up: statuses.length > 0 && statuses.every((s) => s.running && s.sshBanner),
    bridge: { name: config.bridge, gateway: config.gateway, present },
    proxy: { running: proxyUp, ...(proxyUp && state.proxyPid ? { pid: state.proxyPid } : {}) },
    hosts: statuses,
  };
}
