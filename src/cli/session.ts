// What every inventory verb sets up: the inventory, its secrets, a redactor, and one SSH
// connection per host, opened on first use and closed at the end. The session remembers which
// hosts could not be connected to, so every verb tells "unreachable" (exit 3) from "failed".
import { loadInventory, limitHosts } from '../inventory/load.ts';
import type { HostSpec, Inventory } from '../inventory/types.ts';
import { loadSecrets, type Secrets } from '../secrets/store.ts';
import { Redactor } from '../secrets/secret.ts';
import { connect } from '../ssh/node-ssh.ts';
import { deadlinesFor, type Deadlines } from '../ssh/deadline.ts';
import type { Connection } from '../ssh/connection.ts';
import { HostFailedError } from '../errors.ts';
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
  /** Why a host failed: its connection's own error when it could not be reached, else `message`. */
  hostFailure(host: string, message: string): unknown;
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
  return {
    inventory,
    hosts,
    secrets,
    redactor,
    connectFailures,
    hostFailure: (host, message) => connectFailures.get(host) ?? new HostFailedError(message, { host }),
    deadlines,
    connect(host) {
      let c = open.get(host.name);
      if (!c) {
        c = connect(host, { ssh: inventory.ssh, acceptNewHostKeys: opts.acceptNewHostKeys, deadlines });
        c.catch((err: unknown) => connectFailures.set(host.name, err));
        open.set(host.name, c);
      }
      return c;
    },
    async close() {
      await Promise.all([...open.values()].map((c) => c.then((conn) => conn.close(), () => undefined)));
    },
  };
}
