// Load an inventory file: YAML -> schema -> cross-field rules -> typed Inventory.
// Every problem is reported as `<file>: <field path>: <reason>`, before any connection is opened.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { InventoryError, UsageError } from '../errors.ts';
import { inventorySchema, type RawInventory } from './schema.ts';
import { RESERVED_KEYS } from './reserved.ts';
import { privateKeyProblem } from '../ssh/private-key.ts';
import type { Failover, HostSpec, Inventory, Role } from './types.ts';
import { PACKAGE_ROOT } from '../package-root.ts';
import { isAddress } from '../firewall/address.ts';
import { tlsPathFields, tlsSettings } from '../tls/settings.ts';
import { toMonitor } from './monitor-schema.ts';

/** An inventory is a few KiB; anything this big is the wrong file (or an attack). */
const MAX_FILE_BYTES = 1024 * 1024;
/** A private key is a few KiB at most. */
const MAX_KEY_BYTES = 64 * 1024;
/** The schema nests four levels; YAML deeper than this is refused before it is expanded. */
const MAX_DEPTH = 16;
/** Alias uses the YAML library expands before refusing the file (its own default). */
const MAX_ALIASES = 100;

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

/** The file as messages name it: relative to the working folder when it is below it. */
export function shownPath(file: string): string {
  const rel = path.relative(process.cwd(), path.resolve(file));
  return rel && !rel.startsWith('..') ? rel : path.resolve(file);
}

/** A file system error in words (the code, not the message, decides). */
function fsReason(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'is below something that is not a directory';
    default:
      return `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
}

export async function loadInventory(file: string, opts: LoadOptions = {}): Promise<Inventory> {
  const shown = shownPath(file);
  let text: string;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new InventoryError([`${shown}: is a directory, not an inventory file`]);
    // A device or a pipe could be read forever.
    if (!st.isFile()) throw new InventoryError([`${shown}: is not a regular file`]);
    if (st.size > MAX_FILE_BYTES) throw new InventoryError([`${shown}: is ${(st.size / 1024 / 1024).toFixed(1)} MiB; an inventory is a few KiB (is this the right file?)`]);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof InventoryError) throw err;
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : fsReason(err);
    throw new InventoryError([`${shown}: ${reason}`], { cause: err });
  }
  const raw = parseYaml(text, shown);
  const inv = toInventory(raw, path.resolve(file), shown);
  const problems = await pathProblems(inv, shown, opts.requireKey !== false);
  if (problems.length > 0) throw new InventoryError(problems);
  return inv;
}

/**
 * Refuses before expanding anything: nesting deeper than MAX_DEPTH, and map keys JavaScript
 * treats specially (a host named __proto__ would silently vanish). Aliases are not followed
 * here, so the walk is as long as the text.
 */
function structureProblems(doc: Document, shown: string): string[] {
  const problems: string[] = [];
  const walk = (node: unknown, at: PropertyKey[]): void => {
    if (problems.length > 0) return;
    if (at.length > MAX_DEPTH) {
      problems.push(`${shown}: ${formatPath(at.slice(0, 3))}: nested more than ${MAX_DEPTH} levels deep; an inventory needs four`);
      return;
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (RESERVED_KEYS.includes(key)) {
          problems.push(`${shown}: ${formatPath([...at, key])}: ${JSON.stringify(key)} cannot be used as a name (JavaScript reserves it)`);
          return;
        }
        walk(pair.value, [...at, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...at, i]));
    } else if (isPair(node)) {
      walk(node.value, at);
    }
    // Scalars and aliases end the walk.
  };
  walk(doc.contents, []);
  return problems;
}

export function parseYaml(text: string, shown: string): RawInventory {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    throw new InventoryError(
      doc.errors.map((e) => {
        const at = lineCounter.linePos(e.pos[0]);
        const where = at ? `line ${at.line}, column ${at.col}` : 'YAML';
        // The parser's own recursion limit (a stack overflow, code RESOURCE_EXHAUSTION): say what it means.
        const reason = e.code === 'RESOURCE_EXHAUSTION' ? 'nested too deeply' : e.message.split('\n')[0];
        return `${shown}: ${where}: ${reason}`;
      }),
    );
  }
  const structural = structureProblems(doc, shown);
  if (structural.length > 0) throw new InventoryError(structural);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES }) ?? {};
  } catch (err) {
    // The yaml library refuses an alias bomb ("billion laughs") here, before expanding it.
    throw new InventoryError([`${shown}: YAML aliases expand to too much data (more than ${MAX_ALIASES} alias uses); write the values out`], { cause: err });
  }
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
  if (issue.code === 'invalid_type' && issue.path.length === 0) return 'must be a map of settings (name, domain, ssh, hosts...)';
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
  for (const name of raw.db.fenced) {
    const h = hosts.find((x) => x.name === name);
    if (!h) problems.push(`${shown}: db.fenced: ${name} is not a host of this inventory`);
    else if (!h.roles.includes('db-replica')) problems.push(`${shown}: db.fenced: ${name} must have the role db-replica (a fenced server is never the primary)`);
  }
  const failover = failoverOf(raw.lb, hosts, shown, problems);
  if (raw.firewall.enabled) {
    // The rules name other hosts by address: a name would be resolved once, when the rules load.
    for (const h of hosts.filter((h) => !isAddress(h.address))) {
      problems.push(`${shown}: hosts.${h.name}.address: the firewall's rules need IP addresses, not the name ${h.address} (write the address, or set firewall.enabled: false)`);
    }
  }
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
      ...(raw.ssh.command_timeout !== undefined && { commandTimeoutSeconds: raw.ssh.command_timeout }),
    },
    hosts,
    lb: { algorithm: raw.lb.algorithm, mode: raw.lb.mode, ...(failover && { failover }) },
    // Without app.source, the sample app of this checkout.
    app: { source: raw.app.source ? resolve(raw.app.source) : path.join(PACKAGE_ROOT, 'examples/app'), port: raw.app.port, keepReleases: raw.app.keep_releases, entry: raw.app.entry },
    db: {
      name: raw.db.name,
      user: raw.db.user,
      engine: raw.db.engine,
      maxReplicaLagSeconds: raw.db.max_replica_lag,
      semiSyncTimeoutMs: raw.db.semi_sync_timeout_ms,
      fenced: [...new Set(raw.db.fenced)],
    },
    apt: { proxy: raw.apt.proxy, cacheValidSeconds: raw.apt.cache_valid, lockWaitSeconds: raw.apt.lock_wait },
    timezone: raw.timezone,
    secretsFile: resolve(raw.secrets ?? `${base}.secrets.yml`),
    parallel: raw.parallel,
    firewall: { enabled: raw.firewall.enabled, ...(raw.firewall.admin && { admin: raw.firewall.admin }), allow: raw.firewall.allow, rollbackSeconds: raw.firewall.rollback_after },
    monitor: toMonitor(raw.monitor),
    lab: raw.lab && {
      bridge: raw.lab.bridge,
      gateway: raw.lab.gateway,
      cacheDir: resolve(raw.lab.cache),
      stateDir: resolve(raw.lab.state),
      release: raw.lab.release,
      hostReleases: Object.fromEntries(Object.entries(raw.lab.hosts).map(([name, h]) => [name, h.release])),
    },
    ...(raw.tls && { tls: tlsSettings(raw.tls, resolve) }),
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
  if (limit === undefined) return inv.hosts;
  const names = limit.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`--limit: no host named (the inventory has ${inv.hosts.map((h) => h.name).join(', ')})`);
  const unknown = names.filter((n) => !inv.hosts.some((h) => h.name === n));
  if (unknown.length > 0) {
    const shown = unknown.map((n) => (/^[\w.-]{1,64}$/.test(n) ? n : JSON.stringify(n.slice(0, 64))));
    throw new UsageError(
      `--limit: unknown host${unknown.length > 1 ? 's' : ''} ${shown.join(', ')} (the inventory has ${inv.hosts.map((h) => h.name).join(', ')})`,
    );
  }
  return inv.hosts.filter((h) => names.includes(h.name));
}

export interface PathField {
  field: string;
  path: string;
  kind: 'file' | 'directory';
  /** Must exist (the SSH key); the others are made when missing, or checked where used (app.source). */
  required?: boolean;
}

/** Path fields that point at the wrong kind of thing (a directory for a file...), named by field. */
async function pathProblems(inv: Inventory, shown: string, requireKey: boolean): Promise<string[]> {
  const fields: PathField[] = [
    { field: 'ssh.key', path: inv.ssh.key, kind: 'file', required: requireKey },
    { field: 'ssh.known_hosts', path: inv.ssh.knownHosts, kind: 'file' },
    { field: 'secrets', path: inv.secretsFile, kind: 'file' },
    { field: 'app.source', path: inv.app.source, kind: 'directory' },
    ...(inv.lab
      ? [
          { field: 'lab.cache', path: inv.lab.cacheDir, kind: 'directory' as const },
          { field: 'lab.state', path: inv.lab.stateDir, kind: 'directory' as const },
        ]
      : []),
    ...tlsPathFields(inv.tls),
  ];
  const problems: string[] = [];
  for (const f of fields) {
    const what = f.kind === 'file' ? 'a file' : 'a directory';
    try {
      const st = await stat(f.path);
      if (f.kind === 'file' && !st.isFile()) {
        problems.push(`${shown}: ${f.field}: ${f.path} ${st.isDirectory() ? 'is a directory' : 'is not a regular file'}; ${what} is expected`);
      }
      else if (f.kind === 'directory' && !st.isDirectory()) problems.push(`${shown}: ${f.field}: ${f.path} is not a directory`);
      else if (f.field === 'ssh.key' && f.required) {
        const why = st.size > MAX_KEY_BYTES ? 'is too large to be a private key' : privateKeyProblem(await readFile(f.path, 'utf8'));
        if (why) problems.push(`${shown}: ssh.key: ${f.path} ${why}`);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !f.required) continue;
      problems.push(`${shown}: ${f.field}: ${f.path} ${fsReason(err)}`);
    }
  }
  return problems;
}
