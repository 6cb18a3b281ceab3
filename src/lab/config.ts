// The lab's settings, taken from an inventory (`lab:`, `ssh:` and `hosts:`), as the plain
// LabConfig object that the rest of src/lab takes: src/lab never sees the inventory schema.
import path from 'node:path';
import { InventoryError, UsageError } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import { LAB_RELEASES, type Inventory, type LabRelease } from '../inventory/types.ts';
import { formatIpv4, isHostIn, parseCidr, parseIpv4 } from './addr.ts';
import { LabError } from './errors.ts';

/** A lab setting of the inventory that cannot work: an input error (exit 4) with what to do. */
const invalid = (problem: string, hint?: string) => new InventoryError([problem], { hint });

/** An address parser's complaint about an inventory field, as an error naming that field. */
function parsed<T>(where: string, field: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof LabError) throw new InventoryError([`${where}: ${field}: ${err.message}`], { hint: err.hint, cause: err });
    throw err;
  }
}

export interface LabHost {
  name: string;
  address: string;
}

export interface LabConfig {
  /** Absolute path of the inventory the settings came from (for messages). */
  inventoryPath: string;
  hosts: LabHost[];
  /** Bridge interface name; also prefixes the lab's netns, veth and machine names. */
  bridge: string;
  /** Bridge address with prefix, e.g. 10.77.0.1/24; apt-cacher-ng listens there. */
  gateway: string;
  /** Cached base images and apt-cacher-ng's cache (outside the checkout). */
  cacheDir: string;
  /** Lab state: SSH key, unpacked base, host overlays, logs, lab.json. */
  stateDir: string;
  keyPath: string;
  knownHostsPath: string;
  sshUser: string;
  /** The Debian release of every server... */
  release: LabRelease;
  /** ...but these (host name -> release). */
  hostReleases: Readonly<Record<string, LabRelease>>;
  /** What the lab's DNS (pebble-challtestsrv) answers: the domain, with the load balancers' addresses. */
  dns?: { domain: string; addresses: string[] };
}

export const LAB_DEFAULTS = {
  bridge: 'tandem0',
  gateway: '10.77.0.1/24',
  cacheDir: '/var/cache/tandem',
  /** Relative to the inventory's folder. */
  stateDir: '.lab',
  release: LAB_RELEASES[0],
} as const;

const HOST_NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const BRIDGE_NAME = /^[a-z][a-z0-9]{0,10}$/;

/** Reads the lab settings from an inventory file (the SSH key need not exist yet: `up` makes it). */
export async function labConfig(inventoryPath: string): Promise<LabConfig> {
  let inventory: Inventory;
  try {
    inventory = await loadInventory(inventoryPath, { requireKey: false });
  } catch (cause) {
    if (cause instanceof InventoryError) {
      throw new InventoryError(cause.problems, {
        hint: 'fix the inventory (the lab one is inventory/lab.yml; see docs/lab.md), or pass another with -i',
        cause,
      });
    }
    throw cause;
  }
  return labConfigFromInventory(inventory);
}

/** Pure: the lab's view of a loaded inventory, validated for what the lab needs. */
export function labConfigFromInventory(inv: Inventory): LabConfig {
  const lab = inv.lab ?? {
    bridge: LAB_DEFAULTS.bridge,
    gateway: LAB_DEFAULTS.gateway,
    cacheDir: LAB_DEFAULTS.cacheDir,
    stateDir: path.resolve(path.dirname(inv.file), LAB_DEFAULTS.stateDir),
    release: LAB_DEFAULTS.release,
    hostReleases: {},
  };
  const config: LabConfig = {
    inventoryPath: inv.file,
    hosts: inv.hosts.map((h) => ({ name: h.name, address: h.address })),
    bridge: lab.bridge,
    gateway: lab.gateway,
    cacheDir: lab.cacheDir,
    stateDir: lab.stateDir,
    keyPath: inv.ssh.key,
    knownHostsPath: inv.ssh.knownHosts,
    sshUser: inv.ssh.user,
    release: lab.release,
    hostReleases: lab.hostReleases,
    dns: { domain: inv.domain, addresses: inv.hosts.filter((h) => h.roles.includes('lb')).map((h) => h.address) },
  };
  validateLabConfig(config);
  return config;
}

/** Throws an InventoryError naming the first setting that cannot work. */
export function validateLabConfig(config: LabConfig): void {
  const where = config.inventoryPath;
  if (!BRIDGE_NAME.test(config.bridge)) {
    throw invalid(
      `${where}: lab.bridge: "${config.bridge}" is not a usable bridge name`,
      'use 1-11 lower-case letters and digits starting with a letter (veth names add "-NNN" and must fit 15 characters)',
    );
  }
  const gateway = parsed(where, 'lab.gateway', () => parseCidr(config.gateway));
  if (config.hosts.length === 0) {
    throw invalid(`${where}: hosts: the lab needs at least one host`);
  }
  const seen = new Set<string>();
  for (const host of config.hosts) {
    if (!HOST_NAME.test(host.name)) {
      throw invalid(`${where}: hosts.${host.name}: not a valid host name`, 'use lower-case letters, digits and dashes (it becomes the server hostname)');
    }
    parsed(where, `hosts.${host.name}.address`, () => parseIpv4(host.address));
    if (!isHostIn(host.address, gateway) || host.address === gateway.address) {
      throw invalid(
        `${where}: hosts.${host.name}.address: ${host.address} is outside the lab subnet`,
        `the lab only uses addresses of its bridge subnet ${config.gateway} other than the bridge's own`,
      );
    }
    if (seen.has(host.address) || seen.has(host.name)) {
      throw invalid(`${where}: hosts.${host.name}: name or address ${host.address} used twice`);
    }
    seen.add(host.address).add(host.name);
  }
  for (const [field, p] of [['lab.state', config.stateDir], ['lab.cache', config.cacheDir]] as const) {
    if (/[,:\s]/.test(p)) {
      throw invalid(`${where}: ${field}: "${p}" contains a comma, colon or space`, 'overlayfs mount options cannot carry those characters; choose another folder');
    }
  }
}

/**
 * The first `count` hosts: the inventory's, then extra ones named and numbered after the first
 * host (web-03 at .13, web-04 at .14, ...).
 */
export function withHostCount(config: LabConfig, count: number): LabConfig {
  if (!Number.isInteger(count) || count < 1) {
    throw new UsageError(`--hosts must be a whole number of at least 1, not ${count}`);
  }
  if (count <= config.hosts.length) return { ...config, hosts: config.hosts.slice(0, count) };
  const first = config.hosts[0]!;
  const match = /^(.*?)(\d+)$/.exec(first.name);
  const prefix = match ? match[1]! : `${first.name}-`;
  const start = match ? Number(match[2]) : 1;
  const width = match ? match[2]!.length : 2;
  const gateway = parseCidr(config.gateway);
  const taken = new Set(config.hosts.flatMap((h) => [h.name, h.address]));
  const hosts = [...config.hosts];
  for (let i = 0; hosts.length < count; i++) {
    const name = `${prefix}${String(start + i).padStart(width, '0')}`;
    const address = formatIpv4(parseIpv4(first.address) + i);
    if (taken.has(name) || taken.has(address)) continue;
    if (!isHostIn(address, gateway) || address === gateway.address) {
      throw new UsageError(`--hosts ${count}: cannot make ${count} lab hosts: ${address} would fall outside ${config.gateway}`, {
        hint: 'ask for fewer hosts or widen lab.gateway in the inventory',
      });
    }
    hosts.push({ name, address });
    taken.add(name).add(address);
  }
  return { ...config, hosts };
}

/** The release a host of this lab runs (hosts beyond the inventory's take lab.release). */
export function releaseOf(config: LabConfig, hostName: string): LabRelease {
  return config.hostReleases[hostName] ?? config.release;
}

export function findHost(config: LabConfig, name: string): LabHost {
  const host = config.hosts.find((h) => h.name === name);
  if (!host) {
    throw new UsageError(`no lab host named "${name}"`, {
      hint: `known hosts: ${config.hosts.map((h) => h.name).join(', ')}`,
    });
  }
  return host;
}
