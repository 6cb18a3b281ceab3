// plan and apply: the same run, one computing changes, the other making them.
import { run } from '../engine/run.ts';
import type { EngineEvent, EventSink, Mode, RunReport } from '../engine/events.ts';
import { buildWork, selectRecipes } from '../../recipes/index.ts';
import { prepareRelease } from '../release/prepare.ts';
import { certificateSupply, serverTlsOf } from '../tls/supply.ts';
import type { CommonOptions } from './options.ts';
import { openSession, type Session } from './session.ts';
import { outcomeOf, type Outcome } from './exit.ts';
import { textStream, type CliContext } from './context.ts';
import { lineRenderer } from './render/lines.ts';
import type { listrRenderer } from './render/listr.ts';
import { Timings, type TimingsReport } from '../engine/timings.ts';
import { colorizer, planText, summaryText, timingsText } from './render/format.ts';
import { InterruptedError } from '../errors.ts';
import { interruptHandler } from './interrupt.ts';
import type { LockReading } from '../lock/session-lock.ts';

export interface ConvergeOptions extends CommonOptions {
  recipe?: string;
  forceUnlock?: boolean;
  parallel?: number;
}

/** Each failed host's error: the connection's own when it could not be opened, else the report's. */
export function hostFailures(report: RunReport, session: Session): unknown[] {
  return Object.entries(report.hosts)
    .filter(([, h]) => h.failed > 0 || h.error !== undefined)
    .map(([name, h]) => session.hostFailure(name, h.error ?? `${name}: failed`));
}

/**
 * `timings` may come from the verb with the process's start time (the start-up stage); the
 * report carries where the time went (`timings`, docs/cli.md).
 */
export async function converge(
  mode: Mode,
  opts: ConvergeOptions,
  ctx: CliContext,
  timings = new Timings(),
): Promise<Outcome & { report: RunReport & { timings: TimingsReport; peakRssKiB: number } }> {
  timings.startupDone();
  const recipes = selectRecipes(opts.recipe);
  const session = await timings.time('inventory', () => openSession(opts, { createSecrets: mode === 'apply' }, ctx));
  try {
    // Recipes render templates here: a template error stops the run before any connection.
    const app = session.inventory.app;
    const release = recipes.some((r) => r.name === 'app') ? await timings.time('release', () => prepareRelease(app.source, { entry: app.entry, env: ctx.env })) : undefined;
    const now = new Date();
    // Hosts whose work failed in this run: the ACME order does not wait for their load balancer.
    const failedHosts = new Set<string>();
    const certificate = await certificateSupply(session.inventory, { connect: (h) => session.connect(h), redactor: session.redactor, failedInRun: (h) => failedHosts.has(h) }, now);
    const serverTls = await serverTlsOf(session.inventory, { create: mode === 'apply', now });
    const work = timings.time('recipes', () => buildWork(session.inventory, session.hosts, session.secrets, recipes, release, certificate, serverTls));
    const out = textStream(ctx, Boolean(opts.json));
    const names = session.hosts.map((h) => h.name);
    const sinks: EventSink[] = [];
    let view: ReturnType<typeof listrRenderer> | undefined;
    if (out.isTTY && !opts.verbose) {
      // listr2 only for a terminal: --json and CI runs do not load it.
      view = (await import('./render/listr.ts')).listrRenderer(names, out, mode);
      sinks.push(view.sink);
    } else if (!opts.json || opts.verbose) {
      sinks.push(lineRenderer(out, { verbose: Boolean(opts.verbose) }));
    }
    const emit = (e: EngineEvent) => {
      if (e.type === 'host:failed') failedHosts.add(e.host);
      sinks.forEach((s) => s(e));
    };
    session.onProgress(({ host, command, message }) => emit({ type: 'host:waiting', host, command, message }));
    const interrupt = new AbortController();
    const restoreInterrupt = ctx.onInterrupt(interruptHandler(interrupt, session, out, ctx));
    let ran: RunReport;
    try {
      // plan changes nothing, so it takes no lock; apply takes every host's run lock in its first
      // fact batch and holds it until its connections close.
      const lock = mode === 'apply' ? session.runLock('apply', { forceUnlock: opts.forceUnlock, warn: (m) => out.write(`! ${m}\n`) }) : undefined;
      ran = await timings.time('engine', () =>
        run({
          mode,
          hosts: session.hosts,
          work,
          connect: (h) => session.connect(h),
          redactor: session.redactor,
          emit,
          signal: interrupt.signal,
          concurrency: opts.parallel ?? session.inventory.parallel,
          timings,
          gate: lock && { fact: (host) => lock.fact(host), admit: (host, conn, reading) => lock.settle(host, conn, reading as LockReading) },
        }),
      );
    } finally {
      restoreInterrupt();
    }
    await view?.done;
    // The control process's peak memory so far (Linux: KiB), so a fleet's cost shows in --json.
    const report = { ...ran, timings: timings.report(), peakRssKiB: process.resourceUsage().maxRSS };
    const c = colorizer(out);
    if (!opts.json) {
      if (mode === 'plan') out.write(planText(report, Boolean(opts.verbose), c) + '\n');
      out.write(summaryText(report, c) + '\n');
      if (opts.verbose) out.write(timingsText(report.timings, c) + '\n');
    }
    const failures = hostFailures(report, session);
    if (interrupt.signal.aborted) {
      const stopped = new InterruptedError('interrupted (Ctrl-C): nothing new was started after it, and what was running ended; the summary above says what was done');
      if (!opts.json) out.write(`${c.yellow(stopped.message)}\n`);
      failures.push(stopped);
    }
    return { ...outcomeOf(report, failures, { changes: mode === 'plan' && report.summary.changed > 0 }), report };
  } finally {
    await session.close();
  }
}
