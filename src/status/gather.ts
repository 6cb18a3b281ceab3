// `tandem status`: one read of every server, with no change. Releases on app hosts, each web
// server's state in every HAProxy, replication on replicas, and who holds the shared address.
import type { HostSpec, Inventory } from '../inventory/types.ts';
import type { Connection } from '../ssh/connection.ts';
import type { Redactor } from '../secrets/secret.ts';
import type { Command } from '../engine/types.ts';
import { failureText, runCommand } from '../engine/commands.ts';
import { dialectOf, hasRole, isDbHost } from '../stack/roles.ts';
import { HAPROXY_BACKEND, HAPROXY_CERT } from '../stack/names.ts';
import { certificateFact } from '../facts/certificate.ts';
import { LIST_RELEASES, parseReleaseList, previousRelease, SHOW_STAT } from '../deploy/commands.ts';
import { parseStatCsv } from '../verify/haproxy.ts';
import { addressesCommand, holdsAddress } from '../facts/address.ts';
import { mysqlStateFact } from '../facts/mysql.ts';
import { appHealthCommand, parseHealthAnswer } from '../verify/health.ts';
import { parseAlone } from '../engine/facts.ts';
import { gatherAlerts, type AlertsByMonitor } from './alerts.ts';

export interface ReplicationStatus {
  io: string;
  sql: string;
  lagSeconds: number | null;
  error?: string;
}

/** The app's own /healthz on its host: can it serve reads, and writes, and if not why. */
export interface AppHealth {
  /** HTTP status, or 0 when nothing answered. */
  code: number;
  read: boolean;
  write: boolean;
  /** Why reads or writes fail, as the app says it. */
  reason?: string;
}

export interface ServerStatus {
  roles: string[];
  /** db hosts: whether the database server answers. */
  database?: 'running' | 'not running';
  app?: AppHealth;
  current?: string;
  rollbackTo?: string;
  releases?: string[];
  replication?: ReplicationStatus | 'not configured' | 'database not running';
  /** The primary: whether commits wait for a replica's acknowledgement now, and how many replicas give it. */
  semiSync?: { active: boolean; clients: number };
  holdsSharedAddress?: boolean;
  /** lb hosts with a `tls:` section: the certificate HAProxy serves (or 'none'). */
  certificate?: { names: string[]; issuer: string; notAfter: string } | 'none';
  error?: string;
}

export interface StackStatus {
  servers: Record<string, ServerStatus>;
  /** lb host -> web server -> HAProxy status (UP, DRAIN, DOWN ...), or { error }. */
  loadBalancers: Record<string, Record<string, string>>;
  sharedAddress?: { address: string; heldBy: string[] };
  /** With monitor hosts: the alerts firing now, by monitor host. */
  alerts?: AlertsByMonitor;
}

export interface StatusInput {
  inventory: Inventory;
  hosts: HostSpec[];
  connect(host: HostSpec): Promise<Connection>;
  redactor: Redactor;
}

async function read(input: StatusInput, h: HostSpec, cmd: Command): Promise<string> {
  return (await runCommand(await input.connect(h), cmd, input.redactor)).stdout;
}

/** Parses /healthz's JSON (read/write sides); an answer without them counts as failing both. */
export function appHealthOf(code: string, body: string): AppHealth {
  let doc: { read?: { ok?: boolean; error?: string }; write?: { ok?: boolean; error?: string }; status?: string } = {};
  try {
    doc = JSON.parse(body) ?? {};
  } catch {
    // not JSON: Nginx's own error page, or nothing at all
  }
  const n = Number(code) || 0;
  const read = doc.read?.ok === true;
  const write = doc.write?.ok === true;
  const reason = [!read && (doc.read?.error ?? (doc.status ? `status ${doc.status}` : n ? `HTTP ${n}` : 'no answer')), !write && doc.write?.error]
    .filter((x): x is string => typeof x === 'string' && x !== '')
    .join('; ');
  return { code: n, read, write, ...(reason && { reason }) };
}

async function serverStatus(input: StatusInput, h: HostSpec): Promise<ServerStatus> {
  const s: ServerStatus = { roles: h.roles };
  if (hasRole(h, 'app')) {
    const list = parseReleaseList(await read(input, h, { kind: 'script', script: LIST_RELEASES, describe: 'list the releases' }));
    Object.assign(s, { current: list.current, rollbackTo: previousRelease(list), releases: list.releases });
    const res = await runCommand(await input.connect(h), { kind: 'exec', argv: appHealthCommand(input.inventory.app.port), okExitCodes: 'any' }, input.redactor);
    const answer = parseHealthAnswer(res.stdout);
    s.app = appHealthOf(answer.code, answer.body);
  }
  if (isDbHost(h)) {
    const d = dialectOf(input.inventory);
    const fact = mysqlStateFact(d.showReplicaStatus);
    // A fact: its exit code is data (the database not running), not a failure.
    const res = await runCommand(await input.connect(h), { kind: 'script', script: fact.script, describe: 'read the database state', okExitCodes: 'any' }, input.redactor);
    const state = parseAlone(fact, res.stdout, res.exitCode);
    s.database = state.up ? 'running' : 'not running';
    const r = state.replica;
    const semi = state.semiSync ?? {};
    if (!hasRole(h, 'db-replica')) {
      // the primary: no replication of its own, but whether its commits wait for a replica
      if (semi[d.semiSyncStatus.active] !== undefined) s.semiSync = { active: semi[d.semiSyncStatus.active] === 'ON', clients: Number(semi[d.semiSyncStatus.clients] ?? 0) };
    } else if (!state.up) s.replication = 'database not running';
    else if (Object.keys(r).length === 0) s.replication = 'not configured';
    else {
      const lag = r[d.status.lag];
      const error = [r[d.status.lastIoError], r[d.status.lastSqlError]].filter(Boolean).join('; ');
      s.replication = { io: r[d.status.ioRunning] ?? '?', sql: r[d.status.sqlRunning] ?? '?', lagSeconds: lag && lag !== 'NULL' ? Number(lag) : null, ...(error && { error }) };
    }
  }
  if (input.inventory.tls && hasRole(h, 'lb')) {
    const fact = certificateFact(HAPROXY_CERT);
    const res = await runCommand(await input.connect(h), { kind: 'script', script: fact.script, describe: 'read the certificate HAProxy serves', okExitCodes: 'any' }, input.redactor);
    const c = parseAlone(fact, res.stdout, res.exitCode);
    s.certificate = c.present ? { names: c.names, issuer: c.issuer ?? '?', notAfter: c.notAfter ?? '?' } : 'none';
  }
  const failover = input.inventory.lb.failover;
  if (failover && hasRole(h, 'lb')) {
    s.holdsSharedAddress = holdsAddress(await read(input, h, { kind: 'exec', argv: addressesCommand(failover.interface) }), failover.vip);
  }
  return s;
}

export async function gatherStatus(input: StatusInput): Promise<StackStatus> {
  const result: StackStatus = { servers: {}, loadBalancers: {} };
  await Promise.all(
    input.hosts.map(async (h) => {
      try {
        result.servers[h.name] = await serverStatus(input, h);
      } catch (err) {
        result.servers[h.name] = { roles: h.roles, error: failureText(err, input.redactor, h.name) };
      }
    }),
  );
  await Promise.all(
    input.hosts.filter((h) => hasRole(h, 'lb')).map(async (lb) => {
      try {
        const csv = await read(input, lb, { kind: 'script', script: SHOW_STAT, describe: "read HAProxy's stats" });
        result.loadBalancers[lb.name] = Object.fromEntries(
          parseStatCsv(csv).filter((s) => s.backend === HAPROXY_BACKEND).map((s) => [s.server, s.status]),
        );
      } catch (err) {
        result.loadBalancers[lb.name] = { error: failureText(err, input.redactor, lb.name) };
      }
    }),
  );
  const alerts = await gatherAlerts(input);
  if (alerts) result.alerts = alerts;
  const failover = input.inventory.lb.failover;
  if (failover) {
    result.sharedAddress = { address: failover.vip, heldBy: Object.entries(result.servers).filter(([, s]) => s.holdsSharedAddress).map(([n]) => n) };
  }
  return result;
}
