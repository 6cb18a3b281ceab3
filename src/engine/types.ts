// The engine's model: facts (read-only probes), ops (desired state -> change), commands (data).
import type { Secret } from '../secrets/secret.ts';
import type { DeadlineKind } from '../ssh/deadline.ts';

/** A read-only probe. A non-zero exit is data, not an exception. */
export interface Fact<T> {
  /** Unique per distinct probe: two ops asking for the same id share one reading. */
  id: string;
  /** POSIX sh; its stdout is handed to parse. Stderr is discarded. */
  script: string;
  parse(stdout: string, exitCode: number): T;
  /**
   * Ids of the facts this reading follows from: when one of them goes stale (a change or a
   * handler invalidated it), so does this one, transitively. The database's state depends on
   * its service: starting the service must not leave "the database does not answer" cached.
   */
  dependsOn?: readonly string[];
  /**
   * Read through a client shared with other facts (the database's, systemd's): the facts of one
   * batch naming the same probe run it ONCE, each with its part, instead of once each. `script`
   * is then that probe run for this part alone.
   */
  shared?: { probe: SharedProbe; part: readonly string[] };
}

/** One fact's (or one batch section's) output as the host gave it. */
export interface RawFact {
  stdout: string;
  exitCode: number;
}

/** One client run that reads the parts of several facts, and cuts its output back into one reading per part. */
export interface SharedProbe {
  /** Facts whose probes have the same key share one run. */
  key: string;
  /** POSIX sh reading every part, in order. */
  script(parts: readonly (readonly string[])[]): string;
  /** One reading per part, in order, as that fact's `parse` expects it. */
  split(stdout: string, exitCode: number, parts: readonly (readonly string[])[]): RawFact[];
}

export interface FactValues {
  get<T>(fact: Fact<T>): T;
}

export type Stdin = string | Buffer | Secret;

/**
 * A file's content made when the command runs, not when it is planned: a certificate the CA
 * issues during apply (plan shows the write, and asks the CA nothing).
 */
export type DeferredContent = () => Promise<string | Buffer | Secret>;

/** Exit codes that count as success: a list, or 'any' when the output is read whatever the code. */
export type OkExitCodes = number[] | 'any';

/** `deadline: 'long'` for package installs, uploads and seeding; every other command gets the default one. */
export type Command =
  | { kind: 'exec'; argv: string[]; stdin?: Stdin; okExitCodes?: OkExitCodes; deadline?: DeadlineKind }
  | { kind: 'script'; script: string; stdin?: Stdin; okExitCodes?: OkExitCodes; describe: string; deadline?: DeadlineKind; newConnection?: NewConnection }
  | { kind: 'put'; path: string; content: string | Buffer | Secret | DeferredContent; mode: string; owner: string; group: string; backup?: boolean };

/**
 * Run the command over a NEW SSH connection to the host, not the run's (which established-traffic
 * rules keep alive whatever changed): it proves that new connections still get in.
 */
export interface NewConnection {
  /** What it means when no new connection opens (told with the connection's own error). */
  refused: string;
  /** Run over the run's connection when no new one opens: puts the previous state back at once. */
  otherwise?: Command;
}

export interface Change {
  /** One line a person reads: "install nginx, haproxy". */
  summary: string;
  /** Unified diff, for files. */
  diff?: string;
  commands: Command[];
  /** Fact ids this change makes stale; 'all' (the default) when the op cannot tell. */
  invalidates?: 'all' | string[];
}

export interface Op {
  /** Unique within a host, stable across runs: "file /etc/nginx/nginx.conf". */
  id: string;
  facts: Fact<unknown>[];
  /** Pure: the change that brings the host to the desired state, or null when it is there. */
  plan(facts: FactValues): Change | null;
  /** Handlers to run at the end of its work (host and phase) when this op changed something. */
  notify?: string[];
}

/** Runs once per unit of work (a host, a phase) at its end when an op notified it; validates before acting. */
export interface Handler {
  id: string;
  /** Checks the new configuration; on failure the files written in this unit are restored. */
  validate?: Command;
  action: Command;
  /**
   * Succeeds once the service serves again after the action. `systemctl reload` returns before
   * HAProxy or Nginx have bound their new listeners, and a restarted app takes a moment to
   * listen: without this, apply could return while the service still refuses connections.
   */
  ready?: Command;
  /** Fact ids the action makes stale (a restart changes what the service's facts say); with their dependents. */
  invalidates?: readonly string[];
}

// check: ops that only look (the platform each host runs); a host failing it stops the whole run
// before anything changes anywhere. db: every database server installed and configured (and the
// primary's data); replication: replicas seeded and started once their primary runs with its
// final configuration.
export const PHASES = ['check', 'base', 'db', 'replication', 'app', 'web', 'lb'] as const;
export type Phase = (typeof PHASES)[number];

/**
 * Work this work needs done first, and done without failing: a phase of the same host, or of
 * another host (a replica's replication needs its primary's database work, handlers included).
 */
export interface WorkRef {
  phase: Phase;
  /** Another host of the run; the host itself when absent. */
  host?: string;
}

/** What a recipe contributes for one host in one phase. */
export interface HostWork {
  phase: Phase;
  ops: Op[];
  handlers?: Handler[];
  /**
   * What must be done first. Absent: every earlier phase of this host (the safe default). A
   * failure skips only the work that needs it; everything else goes on. Every need is of an
   * earlier phase, so the needs cannot form a cycle. The check phase is a gate for all work.
   */
  needs?: WorkRef[];
  /**
   * Work that must have ended first, however it ended: order only. A load balancer starts
   * serving after the web servers it sends to are up, but a web server that failed does not keep
   * the load balancer's own configuration from converging. Earlier phases only, like needs.
   */
  after?: WorkRef[];
}
