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

/** This machine's systemd machine id, if it has one. */
function machineId(): string | undefined {
  try {
    return readFileSync('/etc/machine-id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
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
   * The run lock of this run for `verb` (src/lock/run-lock.ts): apply hands it to the engine as the
   * gate of its first fact batches, deploy takes it with `acquire`. It ends with the connections,
   * at close(). `warn` hears of take-overs.
   */
  runLock(verb: string, opts: { forceUnlock?: boolean; warn(message: string): void }): RunLocks;
  /** Hears the progress lines of the commands running (a wait on another process's lock). */
  onProgress(sink: ProgressSink): void;
  /** Remote commands running now, by host (what Ctrl-C waits for). */
  running(): { host: string; command: string }[];
  /** Closes every connection (which ends the run locks they hold; a lock not tied to one is released first). */
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
  const progressSinks: ProgressSink[] = [];
  const locks: RunLocks[] = [];
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
    runLock(verb, { forceUnlock, warn }) {
      const holder = `${os.userInfo().username}@${os.hostname()}`;
      const lock = new RunLocks({ redactor, warn }, { verb, holder, hostId: machineId(), pid: process.pid, now: () => new Date(), forceUnlock });
      locks.push(lock);
      return lock;
    },
    onProgress(sink) {
      progressSinks.push(sink);
    },
    running() {
      return [...opened].flatMap(([host, conn]) => conn.running().map((command) => ({ host, command })));
    },
    async close() {
      // Only locks not tied to their connection need a command (none in the usual case).
      await Promise.all(locks.map((l) => l.release()));
      await Promise.all([...open.values()].map((c) => c.then((conn) => conn.close(), () => undefined)));
    },
  };
  return session;
}
