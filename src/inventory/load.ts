// Load an inventory file: YAML -> schema -> cross-field rules -> typed Inventory.
// Every problem is reported as `<file>: <field path>: <reason>`, before any connection is opened.
import { readFile, access } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { LineCounter, parseDocument } from 'yaml';
import { InventoryError } from '../errors.ts';
import { inventorySchema, type RawInventory } from './schema.ts';
import type { Failover, HostSpec, Inventory, Role } from './types.ts';

export interface LoadOptions {
  /** Check that the SSH key file exists (off for `lab up`, which creates it). */
  requireKey?: boolean;
}

export function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? String(s) : `.${String(s)}`;
  }
  return out || '(top level)';
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

export async function loadInventory(file: string, opts: LoadOptions = {}): Promise<Inventory> {
  const shown = path.relative(process.cwd(), path.resolve(file)) || file;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new InventoryError([`${shown}: ${reason}`]);
  }
  const raw = parseYaml(text, shown);
  const inv = toInventory(raw, path.resolve(file), shown);
  if (opts.requireKey !== false) {
    try {
      await access(inv.ssh.key, constants.R_OK);
    } catch {
      throw new InventoryError([`${shown}: ssh.key: key file ${inv.ssh.key} does not exist or is not readable`]);
    }
  }
  return inv;
}

export function parseYaml(text: string, shown: string): RawInventory {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    throw new InventoryError(
      doc.errors.map((e) => {
        const at = lineCounter.linePos(e.pos[0]);
        const where = at ? `line ${at.line}, column ${at.col}` : 'YAML';
        return `${shown}: ${where}: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const data: unknown = doc.toJS() ?? {};
  const result = inventorySchema.safeParse(data);
  if (!result.success) {
    throw new InventoryError(result.error.issues.map((i) => `${shown}: ${formatPath(i.path)}: ${issueMessage(i, data)}`));
  }
  return result.data;
}

function valueAt(data: unknown, segments: readonly PropertyKey[]): unknown {
  let v: unknown = data;
  for (const s of segments) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[s] : undefined;
  return v;
}

interface Issue {
  code: string;
  message: string;
  path: PropertyKey[];
  keys?: string[];
  issues?: { message: string }[];
}

function issueMessage(issue: Issue, data: unknown): string {
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  // zod v4 puts a field's custom message on a missing value too; say what is really wrong.
  if (issue.code === 'invalid_type' && valueAt(data, issue.path) === undefined) return 'is required';
  if (issue.code === 'invalid_key' && issue.issues?.[0]) return issue.issues[0].message;
  return issue.message;
}

/** Cross-field rules the schema cannot express, then path resolution. Pure. */
export function toInventory(raw: RawInventory, absFile: string, shown: string): Inventory {
  const dir = path.dirname(absFile);
  const resolve = (p: string) => path.resolve(dir, expandHome(p));
  const problems: string[] = [];
  const hosts: HostSpec[] = Object.entries(raw.hosts).map(([name, h]) => ({
    name,
    address: h.address,
    port: h.port ?? raw.ssh.port,
    roles: [...new Set(h.roles)] as Role[],
  }));

  const withRole = (r: Role) => hosts.filter((h) => h.roles.includes(r));
  const primaries = withRole('db-primary');
  if (primaries.length !== 1) {
    problems.push(
      `${shown}: hosts: exactly one host must have the role db-primary (found ${primaries.length}${primaries.length ? ': ' + primaries.map((h) => h.name).join(', ') : ''})`,
    );
  }
  for (const h of hosts) {
    if (h.roles.includes('db-primary') && h.roles.includes('db-replica')) {
      problems.push(`${shown}: hosts.${h.name}.roles: a host cannot be both db-primary and db-replica`);
    }
  }
  if (withRole('lb').length === 0) problems.push(`${shown}: hosts: at least one host must have the role lb`);
  if (withRole('web').length === 0) problems.push(`${shown}: hosts: at least one host must have the role web`);
  const seen = new Map<string, string>();
  for (const h of hosts) {
    const key = `${h.address}:${h.port}`;
    const other = seen.get(key);
    if (other) problems.push(`${shown}: hosts.${h.name}.address: ${h.address} is already the address of ${other}`);
    else seen.set(key, h.name);
  }
  const failover = failoverOf(raw.lb, hosts, shown, problems);
  for (const name of Object.keys(raw.lab?.hosts ?? {})) {
    if (!hosts.some((h) => h.name === name)) problems.push(`${shown}: lab.hosts.${name}: not a host of this inventory (hosts: ${hosts.map((h) => h.name).join(', ')})`);
  }
  if (problems.length > 0) throw new InventoryError(problems);

  const base = path.basename(absFile).replace(/\.ya?ml$/, '');
  return {
    file: absFile,
    name: raw.name,
    domain: raw.domain,
    ssh: {
      user: raw.ssh.user,
      key: resolve(raw.ssh.key),
      knownHosts: resolve(raw.ssh.known_hosts ?? `${base}.known_hosts`),
      connectTimeoutMs: raw.ssh.connect_timeout * 1000,
    },
    hosts,
    lb: { algorithm: raw.lb.algorithm, mode: raw.lb.mode, ...(failover && { failover }) },
    // Without app.source, the sample app of this checkout.
    app: { source: raw.app.source ? resolve(raw.app.source) : path.resolve(import.meta.dirname, '../../examples/app'), port: raw.app.port, keepReleases: raw.app.keep_releases, entry: raw.app.entry },
    db: raw.db,
    apt: { proxy: raw.apt.proxy, cacheValidSeconds: raw.apt.cache_valid },
    timezone: raw.timezone,
    secretsFile: resolve(raw.secrets ?? `${base}.secrets.yml`),
    lab: raw.lab && {
      bridge: raw.lab.bridge,
      gateway: raw.lab.gateway,
      cacheDir: resolve(raw.lab.cache),
      stateDir: resolve(raw.lab.state),
      release: raw.lab.release,
      hostReleases: Object.fromEntries(Object.entries(raw.lab.hosts).map(([name, h]) => [name, h.release])),
    },
  };
}

/** lb.vip and lb.interface go with active-passive, and only with it. */
function failoverOf(lb: RawInventory['lb'], hosts: HostSpec[], shown: string, problems: string[]): Failover | undefined {
  if (lb.mode !== 'active-passive') {
    for (const field of ['vip', 'interface'] as const) {
      if (lb[field] !== undefined) problems.push(`${shown}: lb.${field}: only used with mode: active-passive (the mode is ${lb.mode})`);
    }
    return undefined;
  }
  const before = problems.length;
  if (lb.vip === undefined) problems.push(`${shown}: lb.vip: is required with mode: active-passive (the address the load balancers share, such as 10.0.0.10/24)`);
  if (lb.interface === undefined) problems.push(`${shown}: lb.interface: is required with mode: active-passive (the interface that carries the hosts' addresses, such as eth0)`);
  const lbs = hosts.filter((h) => h.roles.includes('lb'));
  if (lbs.length < 2) problems.push(`${shown}: lb.mode: active-passive needs at least two hosts with the role lb (found ${lbs.length})`);
  if (lb.vip === undefined || lb.interface === undefined || problems.length > before) return undefined;
  const [vip, prefix] = lb.vip.split('/') as [string, string];
  if (vip.split('.').some((o) => Number(o) > 255) || Number(prefix) > 32) {
    problems.push(`${shown}: lb.vip: ${lb.vip} is not a valid IPv4 address with prefix`);
    return undefined;
  }
  const owner = hosts.find((h) => h.address === vip);
  if (owner) {
    problems.push(`${shown}: lb.vip: ${vip} is the address of ${owner.name}; the shared address must be a free one`);
    return undefined;
  }
  return { vip, prefix: Number(prefix), interface: lb.interface, routerId: lb.router_id };
}

/** Restrict the inventory to the hosts named by --limit (comma-separated); unknown names are an error. */
export function limitHosts(inv: Inventory, limit: string | undefined): HostSpec[] {
  if (!limit) return inv.hosts;
  const names = limit.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !inv.hosts.some((h) => h.name === n));
  if (unknown.length > 0) {
    throw new InventoryError([
      `--limit: unknown host${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (the inventory has ${inv.hosts.map((h) => h.name).join(', ')})`,
    ]);
  }
  return inv.hosts.filter((h) => names.includes(h.name));
}
