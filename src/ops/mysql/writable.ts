// Which server takes writes. Every database server starts read-only from its config file, so a
// former primary that comes back after a failover never takes a write on its own; this op turns
// read_only off on the inventory's primary only, and only when that server is not replicating
// from another (a primary that still replicates is a topology a person must settle with
// `tandem promote`). A fenced server (inventory db.fenced) gets no database work at all until
// `tandem rejoin` brings it back.
import { mysqlStateFact, type MysqlState } from '../../facts/mysql.ts';
import { ValidationError } from '../../errors.ts';
import type { Change, Op } from '../../engine/types.ts';
import type { Dialect } from './dialect.ts';
import { sqlCommand } from './ops.ts';

export function planWritable(d: Dialect, have: MysqlState): Change | null {
  if (!have.up) {
    throw new ValidationError(`the database on this server does not answer, so it was not made writable. Start it (systemctl start ${d.service}), then run apply again.`);
  }
  if (have.readOnly === false) return null;
  const source = have.replica[d.status.sourceHost];
  if (source !== undefined) {
    throw new ValidationError(
      `the inventory names this server the primary, but it replicates from ${source}: it was left read-only. ` +
        `To move the primary role here, run \`tandem promote\` with this host; to keep it a replica, give it the role db-replica.`,
    );
  }
  return {
    summary: 'take writes (the server starts read-only from its config file)',
    commands: [sqlCommand(d.writable, { describe: 'turn read_only off on the primary' })],
    invalidates: [mysqlStateFact(d.showReplicaStatus).id],
  };
}

export function writable(d: Dialect): Op {
  const fact = mysqlStateFact(d.showReplicaStatus, d.service);
  return { id: 'mysql writable (primary)', facts: [fact], plan: (f) => planWritable(d, f.get(fact)) };
}

/** A fenced former primary: apply leaves its database alone and says how to bring it back. */
export function fenced(host: string): Op {
  return {
    id: 'mysql fenced',
    facts: [],
    plan: () => {
      throw new ValidationError(
        `${host} is fenced (inventory db.fenced): it was the primary before a failover and may hold writes the new primary never saw, ` +
          `so apply leaves its database alone. Run \`tandem rejoin ${host}\` to bring it back as a replica.`,
      );
    },
  };
}
