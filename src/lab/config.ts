// The lab's settings, read from the `lab:`, `ssh:` and `hosts:` sections of an inventory file.
// TODO(inventory): switch to loadInventory() from src/inventory/load.ts once it lands and map
// its `Inventory` (hosts, ssh.key, ssh.knownHosts, lab) onto LabConfig; keep src/lab taking
// this plain object so it stays decoupled from the inventory schema.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatIpv4, isHostIn, parseCidr, parseIpv4 } from './addr.ts';
import { LabError } from './errors.ts';

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
}

export const LAB_DEFAULTS = {
  bridge: 'tandem0',
  gateway: '10.77.0.1/24',
  cacheDir: '/var/cache/tandem',
  stateDir: '.lab',
  key: '.lab/id_ed25519',
  knownHosts: 'lab.known_hosts',
  user: 'root',
} as const;

const HOST_NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const BRIDGE_NAME = /^[a-z][a-z0-9]{0,10}$/;

const schema = z.object({
  ssh: z
    .object({ user: z.string().optional(), key: z.string().optional(), known_hosts: z.string().optional() })
    .optional(),
  lab: z
    .object({
      bridge: z.string().optional(),
      gateway: z.string().optional(),
      cache: z.string().optional(),
      state: z.string().optional(),
    })
    .optional(),
  hosts: z.record(z.string(), z.object({ address: z.string() })),
});

function resolveFrom(dir: string, p: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(homedir(), p.slice(1));
  return path.resolve(dir, p);
}

/** Reads the lab settings from an inventory file; errors name the file and the field. */
export async function labConfig(inventoryPath: string): Promise<LabConfig> {
  const file = path.resolve(inventoryPath);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new LabError(`cannot read the lab inventory ${file}`, {
      hint: 'pass an existing inventory with -i/--inventory (the default is inventory/lab.yml)',
      cause,
    });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw new LabError(`${file} is not valid YAML: ${(cause as Error).message}`, { cause });
  }
  return labConfigFrom(doc, file);
}

/** The pure half of labConfig: validates a parsed inventory document. */
export function labConfigFrom(doc: unknown, file: string): LabConfig {
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new LabError(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`, {
      hint: 'the lab needs `hosts:` with an `address` for each host; see docs/lab.md',
    });
  }
  const dir = path.dirname(file);
  const { ssh = {}, lab = {}, hosts } = parsed.data;
  const config: LabConfig = {
    inventoryPath: file,
    hosts: Object.entries(hosts).map(([name, h]) => ({ name, address: h.address })),
    bridge: lab.bridge ?? LAB_DEFAULTS.bridge,
    gateway: lab.gateway ?? LAB_DEFAULTS.gateway,
    cacheDir: resolveFrom(dir, lab.cache ?? LAB_DEFAULTS.cacheDir),
    stateDir: resolveFrom(dir, lab.state ?? LAB_DEFAULTS.stateDir),
    keyPath: resolveFrom(dir, ssh.key ?? LAB_DEFAULTS.key),
    knownHostsPath: resolveFrom(dir, ssh.known_hosts ?? LAB_DEFAULTS.knownHosts),
    sshUser: ssh.user ?? LAB_DEFAULTS.user,
  };
  validateLabConfig(config);
  return config;
}

/** Throws a LabError naming the first setting that cannot work. */
export function validateLabConfig(config: LabConfig): void {
  const where = config.inventoryPath;
  if (!BRIDGE_NAME.test(config.bridge)) {
    throw new LabError(`${where}: lab.bridge "${config.bridge}" is not a usable bridge name`, {
      hint: 'use 1-11 lower-case letters and digits starting with a letter (veth names add "-NNN" and must fit 15 characters)',
    });
  }
  const gateway = parseCidr(config.gateway);
  if (config.hosts.length === 0) {
    throw new LabError(`${where}: hosts: the lab needs at least one host`);
  }
  const seen = new Set<string>();
  for (const host of config.hosts) {
    if (!HOST_NAME.test(host.name)) {
      throw new LabError(`${where}: hosts.${host.name}: not a valid host name`, {
        hint: 'use lower-case letters, digits and dashes (it becomes the server hostname)',
      });
    }
    parseIpv4(host.address);
    if (!isHostIn(host.address, gateway) || host.address === gateway.address) {
      throw new LabError(`${where}: hosts.${host.name}.address ${host.address} is outside the lab subnet`, {
        hint: `the lab only uses addresses of its bridge subnet ${config.gateway} other than the bridge's own`,
      });
    }
    if (seen.has(host.address) || seen.has(host.name)) {
      throw new LabError(`${where}: hosts.${host.name}: name or address ${host.address} used twice`);
    }
    seen.add(host.address).add(host.name);
  }
  for (const p of [config.stateDir, config.cacheDir]) {
    if (/[,:\s]/.test(p)) {
      throw new LabError(`${where}: lab folder "${p}" contains a comma, colon or space`, {
        hint: 'overlayfs mount options cannot carry those characters; choose another folder',
      });
    }
  }
}

/**
 * The first `count` hosts: the inventory's, then extra ones named and numbered after the first
 * host (web-03 at .13, web-04 at .14, ...).
 */
export function withHostCount(config: LabConfig, count: number): LabConfig {
  if (!Number.isInteger(count) || count < 1) {
    throw new LabError(`--hosts must be a whole number of at least 1, not ${count}`);
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
      throw new LabError(`cannot make ${count} lab hosts: ${address} would fall outside ${config.gateway}`, {
        hint: 'ask for fewer hosts or widen lab.gateway in the inventory',
      });
    }
    hosts.push({ name, address });
    taken.add(name).add(address);
  }
  return { ...config, hosts };
}

export function findHost(config: LabConfig, name: string): LabHost {
  const host = config.hosts.find((h) => h.name === name);
  if (!host) {
    throw new LabError(`no lab host named "${name}"`, {
      hint: `known hosts: ${config.hosts.map((h) => h.name).join(', ')}`,
    });
  }
  return host;
}
