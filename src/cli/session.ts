// What every inventory verb sets up: the inventory, its secrets, a redactor, and one SSH
// connection per host, opened on first use and closed at the end. The session remembers which
// hosts could not be connected to, so every verb tells "unreachable" (exit 3) from "failed".
import { loadInventory, limitHosts } from '../inventory/load.ts';
import type { HostSpec, Inventory } from '../inventory/types.ts';
import { loadSecrets, type Secrets } from '../secrets/store.ts';
import { Redactor } from '../secrets/secret.ts';
import { connect } from '../ssh/node-ssh.ts';
import { deadlinesFor, type Deadlines } from '../ssh/deadline.ts';
import type { Connection, ProgressSink } from '../ssh/connection.ts';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { HostFailedError } from '../errors.ts';
import { RunLocks } from '../lock/run-lock.ts';
import type { LockInfo } from '../lock/lock-file.ts';

/** This machine's systemd machine id, if it has one. */
function machineId(): string | undefined {
  try {
    return readFileSync('/etc/machine-id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process of this machine runs (signal 0 checks without sending anything). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
import type { CliContext } from './context.ts';
import type { CommonOptions } from './options.ts';

export interface Session {
  inventory: Inventory;
  hosts: HostSpec[];
  secrets: Secrets;
  redactor: Redactor;
  /** Seconds each kind of remote command may take in this run. */
  deadlines: Deadlines;
  connect(host: HostSpec): Promise<Connection>;
  /** The error of every host whose connection could not be opened, by host name. */
  connectFailures: ReadonlyMap<string, unknown>;
  /** Why a host failed: its connection's own error when it could not be reached or was lost, else `message`. */
  hostFailure(host: string, message: string): unknown;
  /**
   * Take the run lock on these hosts for `verb` (throws RunLockedError, holding nothing, when
   * another run holds one); close() gives them back. `warn` hears of take-overs and failed releases.
   */
  lockRun(hosts: readonly HostSpec[], verb: string, opts: { forceUnlock?: boolean; warn(message: string): void }): Promise<void>;
  /** Hears the progress lines of the commands running (a wait on another process's lock). */
  onProgress(sink: ProgressSink): void;
  /** Remote commands running now, by host (what Ctrl-C waits for). */
  running(): { host: string; command: string }[];
  /** Releases the run locks held, then closes every connection. */
  close(): Promise<void>;
}

export async function openSession(opts: CommonOptions, { createSecrets }: { createSecrets: boolean }, ctx: CliContext): Promise<Session> {
  const inventory = await loadInventory(opts.inventory);
  const hosts = limitHosts(inventory, opts.limit);
  const secrets = await loadSecrets(inventory.secretsFile, { create: createSecrets, env: ctx.env });
  const redactor = new Redactor(Object.values(secrets));
  ctx.redactor = redactor;
  const deadlines = deadlinesFor(opts.timeout ?? inventory.ssh.commandTimeoutSeconds);
  const open = new Map<string, Promise<Connection>>();
  const connectFailures = new Map<string, unknown>();
  const opened = new Map<string, Connection>();
  let locks: RunLocks | undefined;
  const progressSinks: ProgressSink[] = [];
  const session: Session = {
    inventory,
    hosts,
    secrets,
    redactor,
    connectFailures,
    hostFailure: (host, message) => connectFailures.get(host) ?? opened.get(host)?.lost ?? new HostFailedError(message, { host }),
    deadlines,
    connect(host) {
      let c = open.get(host.name);
      if (!c) {
        c = connect(host, { ssh: inventory.ssh, acceptNewHostKeys: opts.acceptNewHostKeys, deadlines, progress: (e) => progressSinks.forEach((s) => s(e)) });
        c.then(
          (conn) => opened.set(host.name, conn),
          (err: unknown) => connectFailures.set(host.name, err),
        );
        open.set(host.name, c);
      }
      return c;
    },
    async lockRun(lockHosts, verb, { forceUnlock, warn }) {
      locks = new RunLocks({ connect: (h) => session.connect(h), redactor, warn });
      const holder = `${os.userInfo().username}@${os.hostname()}`;
      // A lock taken by a tandem process of this control host that no longer runs (killed, or its
      // machine restarted) is a leftover: no command of that run can still be going.
      const hostId = machineId();
      const holderGone = (l: LockInfo) => hostId !== undefined && l.hostId === hostId && l.pid !== undefined && l.pid !== process.pid && !processRuns(l.pid);
      await locks.acquire(lockHosts, { verb, holder, hostId, pid: process.pid, now: () => new Date(), forceUnlock, holderGone });
    },
    onProgress(sink) {
      progressSinks.push(sink);
    },
    running() {
      return [...opened].flatMap(([host, conn]) => conn.running().map((command) => ({ host, command })));
    },
    async close() {
      await locks?.release();
      await Promise.all([...open.values()].map((c) => c.then((conn) => conn.close(), () => undefined)));
    },
  };
  return session;
}
