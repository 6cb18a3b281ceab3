// `tandem lab status`: each host, its address, its release, whether it runs and whether sshd answers.
import { lstat, readFile } from 'node:fs/promises';
import { parseOsRelease } from '../facts/platform.ts';
import { parseCidr } from './addr.ts';
import type { LabConfig } from './config.ts';
import { findHostProcesses } from './host.ts';
import { hostLayout } from './layout.ts';
import { linkExists } from './network.ts';
import { sshBanner } from './probe.ts';
import { proxyRunning } from './proxy.ts';
import { insideRoot } from './safe-files.ts';
import { readState } from './state.ts';

export interface HostStatus {
  name: string;
  address: string;
  running: boolean;
  /** The running host's own os-release PRETTY_NAME, e.g. "Debian GNU/Linux 13 (trixie)". */
  release?: string;
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
      const layout = hostLayout(config, h);
      const running = !!(await findHostProcesses(layout)).supervisorPid;
      const release = running ? await guestRelease(layout.root) : undefined;
      const banner = present ? await sshBanner(subnet, h.address, 1000) : undefined;
      return { name: h.name, address: h.address, running, ...(release ? { release } : {}), ...(banner ? { sshBanner: banner } : {}) };
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

/** The release a guest root says it is, read from outside (a symlinked os-release is not followed out of it). */
async function guestRelease(root: string): Promise<string | undefined> {
  for (const rel of ['etc/os-release', 'usr/lib/os-release']) {
    const file = await insideRoot(root, rel).catch(() => undefined);
    if (!file || !(await lstat(file).catch(() => undefined))?.isFile()) continue;
    const os = parseOsRelease(await readFile(file, 'utf8').catch(() => ''));
    if (os) return os.prettyName;
  }
  return undefined;
}
