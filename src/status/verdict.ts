// The stack's health in one word, as `systemctl is-system-running` gives it: healthy, degraded
// (still serving: a replica broken, lagging or out of rotation, a backend DOWN, writes failing on
// one app) or down (a server unreachable, the primary database stopped, a load balancer with no
// backend in rotation, the shared address on no load balancer), with every reason found. Pure.
import type { StackStatus } from './gather.ts';

export type Verdict = 'healthy' | 'degraded' | 'down';

export interface Problem {
  level: Exclude<Verdict, 'healthy'>;
  /** The server the problem is on (absent for the stack as a whole). */
  host?: string;
  what: string;
}

export interface Assessment {
  verdict: Verdict;
  problems: Problem[];
}

export interface VerdictInput {
  /** The db-primary host's name. */
  primary: string;
  maxReplicaLagSeconds: number;
}

const inRotation = (state: string) => state.startsWith('UP');

export function assess(st: StackStatus, opts: VerdictInput): Assessment {
  const problems: Problem[] = [];
  const down = (what: string, host?: string) => problems.push({ level: 'down', what, ...(host && { host }) });
  const degraded = (what: string, host?: string) => problems.push({ level: 'degraded', what, ...(host && { host }) });

  const primaryDown = st.servers[opts.primary]?.database === 'not running';
  for (const [name, s] of Object.entries(st.servers)) {
    if (s.error) {
      down(`could not be read: ${s.error}`, name);
      continue;
    }
    if (name === opts.primary && s.database === 'not running') down('the primary database is not running: writes fail, reads go to the replicas', name);
    const r = s.replication;
    if (r === 'database not running') degraded('the replica database is not running', name);
    else if (r === 'not configured') degraded('replication is not configured on this replica', name);
    else if (r) {
      // With the primary stopped, a replica retrying its connection is the expected consequence.
      if (primaryDown && r.io === 'Connecting' && r.sql === 'Yes') degraded('replication waits for the primary to return (IO Connecting); reads serve the data replicated so far', name);
      else if (r.io !== 'Yes' || r.sql !== 'Yes') degraded(`replication is broken: IO ${r.io}, SQL ${r.sql}${r.error ? `: ${r.error}` : ''}`, name);
      else if (r.lagSeconds === null) degraded('replication lag is unknown', name);
      else if (r.lagSeconds > opts.maxReplicaLagSeconds) degraded(`the replica lags ${r.lagSeconds} s behind, over the limit of ${opts.maxReplicaLagSeconds} s`, name);
    }
    // The app's view adds what the database rows do not already say.
    if (s.app && !s.app.read) degraded(`the app cannot serve reads: ${s.app.reason ?? `HTTP ${s.app.code}`}`, name);
    else if (s.app && !s.app.write && !primaryDown) degraded(`the app cannot write: ${s.app.reason ?? `HTTP ${s.app.code}`}`, name);
  }

  /** web server -> the load balancers that have it out of rotation, each with its state there. */
  const outOf = new Map<string, string[]>();
  // By name: the load balancers answer in any order.
  for (const [lb, servers] of Object.entries(st.loadBalancers).sort(([a], [b]) => a.localeCompare(b))) {
    if (typeof servers.error === 'string') {
      degraded(`HAProxy could not be read: ${servers.error}`, lb);
      continue;
    }
    const states = Object.entries(servers);
    const out = states.filter(([, state]) => !inRotation(state));
    if (states.length > 0 && out.length === states.length) down(`no web server is in rotation in this load balancer (${out.map(([n, state]) => `${n} ${state}`).join(', ')})`, lb);
    else for (const [server, state] of out) outOf.set(server, [...(outOf.get(server) ?? []), `${lb} (${state})`]);
  }
  for (const [server, where] of outOf) degraded(`out of rotation in ${where.join(', ')}`, server);

  if (st.sharedAddress) {
    const { address, heldBy } = st.sharedAddress;
    if (heldBy.length === 0) down(`the shared address ${address} is on no load balancer`);
    else if (heldBy.length > 1) degraded(`the shared address ${address} is on more than one load balancer (${heldBy.join(', ')})`);
  }

  const verdict: Verdict = problems.some((p) => p.level === 'down') ? 'down' : problems.length ? 'degraded' : 'healthy';
  return { verdict, problems };
}
