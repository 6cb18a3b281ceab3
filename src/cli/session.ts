// What every inventory verb sets up: the inventory, its secrets, a redactor, and one SSH
// connection per host, opened on first use and closed at the end.
import { loadInventory, limitHosts } from '../inventory/load.ts';
import type { HostSpec, Inventory } from '../inventory/types.ts';
import { loadSecrets, type Secrets } from '../secrets/store.ts';
import { Redactor } from '../secrets/secret.ts';
import { connect } from '../ssh/node-ssh.ts';
import { deadlinesFor, type Deadlines } from '../ssh/deadline.ts';
import type { Connection } from '../ssh/connection.ts';
import type { CommonOptions } from './options.ts';

export interface Session {
  inventory: Inventory;
  hosts: HostSpec[];
  secrets: Secrets;
  redactor: Redactor;
  /** Seconds each kind of remote command may take in this run. */
  deadlines: Deadlines;
  connect(host: HostSpec): Promise<Connection>;
  close(): Promise<void>;
}

export async function openSession(opts: CommonOptions, { createSecrets }: { createSecrets: boolean }): Promise<Session> {
  const inventory = await loadInventory(opts.inventory);
  const hosts = limitHosts(inventory, opts.limit);
  const secrets = await loadSecrets(inventory.secretsFile, { create: createSecrets });
  const redactor = new Redactor(Object.values(secrets));
  const deadlines = deadlinesFor(opts.timeout ?? inventory.ssh.commandTimeoutSeconds);
  const open = new Map<string, Promise<Connection>>();
  return {
    inventory,
    hosts,
    secrets,
    redactor,
    deadlines,
    connect(host) {
      let c = open.get(host.name);
      if (!c) {
        c = connect(host, { ssh: inventory.ssh, acceptNewHostKeys: opts.acceptNewHostKeys, deadlines });
        open.set(host.name, c);
      }
      return c;
    },
    async close() {
      await Promise.all([...open.values()].map((c) => c.then((conn) => conn.close(), () => undefined)));
    },
  };
}
