// `tandem status`: one read of every server, with no change. Releases on app hosts, each web
// server's state in every HAProxy, replication on replicas, and who holds the shared address.
import type { HostSpec, Inventory } from '../inventory/types.ts';
import type { Connection } from '../ssh/connection.ts';
import { dialectOf, hasRole } from '../stack/roles.ts';
import { HAPROXY_BACKEND } from '../stack/names.ts';
import { LIST_RELEASES, parseReleaseList, previousRelease, SHOW_STAT } from '../deploy/commands.ts';
import { parseStatCsv } from '../verify/haproxy.ts';
import { addressesCommand, holdsAddress } from '../facts/address.ts';
import { mysqlStateFact } from '../facts/mysql.ts';

export interface ReplicationStatus {
  io: string;
  sql: string;
  lagSeconds: number | null;
  error?: string;
}

export interface ServerStatus {
  roles: string[];
  current?: string;
  rollbackTo?: string;
  releases?: string[];
  replication?: ReplicationStatus | 'not configured' | 'database not running';
  holdsSharedAddress?: boolean;
  error?: string;
}

export interface StackStatus {
  servers: Record<string, ServerStatus>;
  /** lb host -> web server -> HAProxy status (UP, DRAIN, DOWN ...), or { error }. */
  loadBalancers: Record<string, Record<string, string>>;
  sharedAddress?: { address: string; heldBy: string[] };
}

export interface StatusInput {
  inventory: Inventory;
  hosts: HostSpec[];
  connect(host: HostSpec): Promise<Connection>;
}

async function must(conn: Connection, req: Parameters<Connection['exec']>[0], what: string) {
  const res = await conn.exec(req);
  if (res.exitCode !== 0) throw new Error(`${what}: ${res.stderr.trim() || `exit ${res.exitCode}`}`);
  return res.stdout;
}

async function serverStatus(input: StatusInput, h: HostSpec): Promise<ServerStatus> {
  const s: ServerStatus = { roles: h.roles };
  const conn = await input.connect(h);
  if (hasRole(h, 'app')) {
    const list = parseReleaseList(await must(conn, { script: LIST_RELEASES }, 'listing releases'));
    Object.assign(s, { current: list.current, rollbackTo: previousRelease(list), releases: list.releases });
  }
  if (hasRole(h, 'db-replica')) {
    const d = dialectOf(input.inventory);
    const fact = mysqlStateFact(d.showReplicaStatus);
    const res = await conn.exec({ script: fact.script });
    const state = fact.parse(res.stdout, res.exitCode);
    const r = state.replica;
    if (!state.up) s.replication = 'database not running';
    else if (Object.keys(r).length === 0) s.replication = 'not configured';
    else {
      const lag = r[d.status.lag];
      const error = [r[d.status.lastIoError], r[d.status.lastSqlError]].filter(Boolean).join('; ');
      s.replication = { io: r[d.status.ioRunning] ?? '?', sql: r[d.status.sqlRunning] ?? '?', lagSeconds: lag && lag !== 'NULL' ? Number(lag) : null, ...(error && { error }) };
    }
  }
  const failover = input.inventory.lb.failover;
  if (failover && hasRole(h, 'lb')) {
    s.holdsSharedAddress = holdsAddress(await must(conn, { argv: addressesCommand(failover.interface) }, 'listing addresses'), failover.vip);
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
        result.servers[h.name] = { roles: h.roles, error: (err as Error).message };
      }
    }),
  );
  await Promise.all(
    input.hosts.filter((h) => hasRole(h, 'lb')).map(async (lb) => {
      try {
        const csv = await must(await input.connect(lb), { script: SHOW_STAT }, "reading HAProxy's stats");
        result.loadBalancers[lb.name] = Object.fromEntries(
          parseStatCsv(csv).filter((s) => s.backend === HAPROXY_BACKEND).map((s) => [s.server, s.status]),
        );
      } catch (err) {
        result.loadBalancers[lb.name] = { error: (err as Error).message };
      }
    }),
  );
  const failover = input.inventory.lb.failover;
  if (failover) {
    result.sharedAddress = { address: failover.vip, heldBy: Object.entries(result.servers).filter(([, s]) => s.holdsSharedAddress).map(([n]) => n) };
  }
  return result;
}
