// Names and paths of everything the lab makes, derived from its settings (pure).
import path from 'node:path';
import { lastOctet } from './addr.ts';
import type { LabRelease } from '../inventory/types.ts';
import { releaseInfo } from './base-recipe.ts';
import type { LabConfig, LabHost } from './config.ts';

export interface HostLayout {
  name: string;
  address: string;
  /** nspawn machine name, also the netns name: "<bridge>-<host>". */
  machine: string;
  netns: string;
  /** Host-side veth, attached to the bridge: "<bridge>-<last octet>" (fits IFNAMSIZ). */
  veth: string;
  dir: string;
  upper: string;
  work: string;
  /** The overlay mount point: the host's root file system. */
  root: string;
  consoleLog: string;
}

export function hostLayout(config: LabConfig, host: LabHost): HostLayout {
  const machine = `${config.bridge}-${host.name}`;
  const dir = path.join(config.stateDir, 'hosts', host.name);
  return {
    name: host.name,
    address: host.address,
    machine,
    netns: machine,
    veth: `${config.bridge}-${lastOctet(host.address)}`,
    dir,
    upper: path.join(dir, 'upper'),
    work: path.join(dir, 'work'),
    root: path.join(dir, 'root'),
    consoleLog: path.join(dir, 'console.log'),
  };
}

export const paths = {
  stateFile: (c: LabConfig) => path.join(c.stateDir, 'lab.json'),
  lockFile: (c: LabConfig) => path.join(c.stateDir, 'lock'),
  hostsDir: (c: LabConfig) => path.join(c.stateDir, 'hosts'),
  /** Unpacked read-only base trees, one per image id. */
  baseDir: (c: LabConfig, imageId: string) => path.join(c.stateDir, 'base', imageId),
  imagesDir: (c: LabConfig) => path.join(c.cacheDir, 'images'),
  imageTarball: (c: LabConfig, release: LabRelease, imageId: string) =>
    path.join(c.cacheDir, 'images', `debian${releaseInfo(release).versionId}-${imageId}.tar.zst`),
  aptCacheDir: (c: LabConfig) => path.join(c.cacheDir, 'apt-cacher-ng'),
  proxyDir: (c: LabConfig) => path.join(c.stateDir, 'apt-cacher-ng'),
};

/** Name of the cgroup folder the lab makes under the current cgroup of each hierarchy. */
export const CGROUP_PARENT = 'tandem-lab';
