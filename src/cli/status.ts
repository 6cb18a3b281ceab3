// `tandem status`: one screen of what runs where; reads only.
import { gatherStatus, type ServerStatus, type StackStatus } from '../status/gather.ts';
import { hasRole } from '../stack/roles.ts';
import type { CommonOptions } from './options.ts';
import { openSession } from './session.ts';
import { outcomeOf, type Outcome } from './exit.ts';
import type { CliContext } from './context.ts';

function replicationText(s: ServerStatus): string {
  const r = s.replication;
  if (!r) return '-';
  if (typeof r === 'string') return r;
  const text = `IO ${r.io}, SQL ${r.sql}, lag ${r.lagSeconds ?? '?'} s`;
  return r.error ? `${text}: ${r.error}` : text;
}

/** Pure: the table a person reads. */
export function renderStatus(st: StackStatus, hostNames: string[], lbNames: string[]): string {
  const header = ['SERVER', 'ROLES', 'CURRENT RELEASE', 'REPLICATION', ...lbNames.map((l) => `IN ${l}`)];
  const rows = hostNames.map((name) => {
    const s = st.servers[name]!;
    if (s.error) return [name, s.roles.join(','), `unreachable: ${s.error}`, '', ...lbNames.map(() => '')];
    return [name, s.roles.join(','), s.current ?? '-', replicationText(s), ...lbNames.map((l) => st.loadBalancers[l]?.[name] ?? '-')];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  for (const l of lbNames) {
    const e = st.loadBalancers[l]?.error;
    if (e) out.push(`${l}: cannot read HAProxy: ${e}`);
  }
  if (st.sharedAddress) {
    const { address, heldBy } = st.sharedAddress;
    out.push(`shared address ${address}: ${heldBy.length === 1 ? `on ${heldBy[0]}` : heldBy.length ? `on ${heldBy.join(' and ')} (more than one!)` : 'on no load balancer'}`);
  }
  return out.join('\n') + '\n';
}

export async function status(opts: CommonOptions, ctx: CliContext): Promise<Outcome> {
  const session = await openSession(opts, { createSecrets: false }, ctx);
  try {
    const st = await gatherStatus({ inventory: session.inventory, hosts: session.hosts, connect: session.connect, redactor: session.redactor });
    if (!opts.json) {
      const lbs = session.hosts.filter((h) => hasRole(h, 'lb')).map((h) => h.name);
      ctx.stdout.write(renderStatus(st, session.hosts.map((h) => h.name), lbs));
    }
    const failures = Object.entries(st.servers)
      .filter(([, s]) => s.error)
      .map(([name, s]) => session.hostFailure(name, `${name}: ${s.error}`));
    return outcomeOf(st, failures);
  } finally {
    await session.close();
  }
}
