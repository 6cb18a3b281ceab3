// `tandem promote` and `tandem rejoin`: a session, the run lock, the promotion (src/promote), and
// for rejoin an apply of the rewritten inventory to converge everything else.
import { openSession, type Session } from './session.ts';
import { outcomeOf, type Outcome } from './exit.ts';
import { textStream, type CliContext } from './context.ts';
import type { CommonOptions } from './options.ts';
import { failover, rejoinHost, switchover, type PromoteDeps } from '../promote/run.ts';
import { converge } from './converge.ts';
import { Timings } from '../engine/timings.ts';

export interface PromoteOptions extends CommonOptions {
  failover?: boolean;
  force?: boolean;
  forceUnlock?: boolean;
}

function depsOf(session: Session, verb: string, opts: PromoteOptions, out: NodeJS.WriteStream, quiet: boolean): PromoteDeps {
  const lock = session.runLock(verb, { forceUnlock: opts.forceUnlock, warn: (m) => out.write(`! ${m}\n`) });
  return {
    inventory: session.inventory,
    secrets: session.secrets,
    redactor: session.redactor,
    connect: (h) => session.connect(h),
    lock: (hosts) => lock.acquire(hosts, (h) => session.connect(h)),
    say: (line) => quiet || out.write(`${line}\n`),
    now: () => performance.now(),
  };
}

export async function promote(host: string, opts: PromoteOptions, ctx: CliContext): Promise<Outcome> {
  const session = await openSession(opts, { createSecrets: false }, ctx);
  const out = textStream(ctx, Boolean(opts.json));
  try {
    const deps = depsOf(session, 'promote', opts, out, false);
    const report = opts.failover ? await failover(deps, host, Boolean(opts.force)) : await switchover(deps, host);
    if (!opts.json) out.write(`promoted ${report.to} (was ${report.from}) in ${report.durationMs} ms; writes unavailable for ${report.writeUnavailableMs} ms\n`);
    return outcomeOf(report, []);
  } finally {
    await session.close();
  }
}

export async function rejoin(host: string, opts: PromoteOptions, ctx: CliContext): Promise<Outcome> {
  const session = await openSession(opts, { createSecrets: false }, ctx);
  const out = textStream(ctx, Boolean(opts.json));
  let report;
  try {
    report = await rejoinHost(depsOf(session, 'rejoin', opts, out, false), host);
  } finally {
    // The run lock ends with these connections; apply takes its own.
    await session.close();
  }
  out.write(`${host}: applying the inventory to converge the rest (accounts, ${report.reseed ? 'the re-seed, ' : ''}the apps' database file)\n`);
  const applied = await converge('apply', { ...opts, limit: undefined }, ctx, new Timings());
  return { ...applied, report: { rejoin: report, apply: applied.report } };
}
