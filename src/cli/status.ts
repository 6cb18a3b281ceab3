// `tandem status`: one screen of what runs where; reads only.
import { gatherStatus, type ServerStatus, type StackStatus } from '../status/gather.ts';
import { hasRole } from '../stack/roles.ts';
import type { CommonOptions } from './options.ts';
import { openSession } from './session.ts';
import { EXIT, outcomeOf, worse, type ExitCode, type Outcome } from './exit.ts';
import { assess, type Assessment, type Verdict } from '../status/verdict.ts';
import { primaryOf } from '../stack/roles.ts';
import type { CliContext } from './context.ts';
import { renderAlerts } from '../status/alerts.ts';

function replicationText(s: ServerStatus): string {
  const r = s.replication;
  const semi = s.semiSync && `, semi-sync ${s.semiSync.active ? 'ON' : 'OFF'} (${s.semiSync.clients} replica${s.semiSync.clients === 1 ? '' : 's'})`;
  if (!r) return s.database === 'not running' ? 'database not running' : s.database ? `primary${semi ?? ''}` : '-';
  if (typeof r === 'string') return r;
  const text = `IO ${r.io}, SQL ${r.sql}, lag ${r.lagSeconds ?? '?'} s`;
  return r.error ? `${text}: ${r.error}` : text;
}

/** The code of each verdict: 0 only when everything is healthy. */
export const VERDICT_CODE: Record<Verdict, ExitCode> = { healthy: EXIT.ok, degraded: EXIT.degraded, down: EXIT.down };

/** Pure: the verdict and why, under the table. */
export function renderAssessment(a: Assessment): string {
  const lines = [`verdict: ${a.verdict}`];
  const width = Math.max(0, ...a.problems.map((p) => (p.host ?? '').length));
  for (const p of a.problems) lines.push(`  ${p.level.padEnd(8)}  ${(p.host ?? '').padEnd(width)}  ${p.what}`.trimEnd());
  return lines.join('\n') + '\n';
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
  for (const l of lbNames) {
    const cert = st.servers[l]?.certificate;
    if (cert) out.push(`${l} certificate: ${cert === 'none' ? 'none' : `${cert.names.join(', ')}, issued by ${cert.issuer}, expires ${cert.notAfter.slice(0, 10)}`}`);
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
    const assessment = assess(st, { primary: primaryOf(session.inventory).name, maxReplicaLagSeconds: session.inventory.db.maxReplicaLagSeconds });
    if (!opts.json) {
      const lbs = session.hosts.filter((h) => hasRole(h, 'lb')).map((h) => h.name);
      ctx.stdout.write(renderStatus(st, session.hosts.map((h) => h.name), lbs));
      ctx.stdout.write(renderAssessment(assessment));
      if (st.alerts) ctx.stdout.write(renderAlerts(st.alerts));
    }
    const failures = Object.entries(st.servers)
      .filter(([, s]) => s.error)
      .map(([name, s]) => session.hostFailure(name, `${name}: ${s.error}`));
    const outcome = outcomeOf({ ...st, ...assessment }, failures);
    // A server that could not be read keeps its own code (3 or 1); otherwise the verdict decides.
    return { ...outcome, code: worse(outcome.code as ExitCode, VERDICT_CODE[assessment.verdict]) };
  } finally {
    await session.close();
  }
}
