// plan and apply: the same run, one computing changes, the other making them.
import type { Command } from 'commander';
import { run } from '../engine/run.ts';
import type { EngineEvent, EventSink, Mode, RunReport } from '../engine/events.ts';
import { buildWork, selectRecipes } from '../../recipes/index.ts';
import { prepareRelease } from '../release/prepare.ts';
import { addCommonOptions, type CommonOptions } from './options.ts';
import { openSession, type Session } from './session.ts';
import { action, outcomeOf, type Outcome } from './exit.ts';
import { textStream, type CliContext } from './context.ts';
import { lineRenderer } from './render/lines.ts';
import { listrRenderer } from './render/listr.ts';
import { colorizer, planText, summaryText } from './render/format.ts';
import { InterruptedError } from '../errors.ts';
import { interruptHandler } from './interrupt.ts';

interface ConvergeOptions extends CommonOptions {
  recipe?: string;
  forceUnlock?: boolean;
}

/** Each failed host's error: the connection's own when it could not be opened, else the report's. */
export function hostFailures(report: RunReport, session: Session): unknown[] {
  return Object.entries(report.hosts)
    .filter(([, h]) => h.failed > 0 || h.error !== undefined)
    .map(([name, h]) => session.hostFailure(name, h.error ?? `${name}: failed`));
}

export async function converge(mode: Mode, opts: ConvergeOptions, ctx: CliContext): Promise<Outcome & { report: RunReport }> {
  const recipes = selectRecipes(opts.recipe);
  const session = await openSession(opts, { createSecrets: mode === 'apply' }, ctx);
  try {
    // Recipes render templates here: a template error stops the run before any connection.
    const release = recipes.some((r) => r.name === 'app') ? await prepareRelease(session.inventory.app.source, { entry: session.inventory.app.entry, env: ctx.env }) : undefined;
    const work = buildWork(session.inventory, session.hosts, session.secrets, recipes, release);
    const out = textStream(ctx, Boolean(opts.json));
    const names = session.hosts.map((h) => h.name);
    const sinks: EventSink[] = [];
    let view: ReturnType<typeof listrRenderer> | undefined;
    if (out.isTTY && !opts.verbose) {
      view = listrRenderer(names, out, mode);
      sinks.push(view.sink);
    } else if (!opts.json || opts.verbose) {
      sinks.push(lineRenderer(out, { verbose: Boolean(opts.verbose) }));
    }
    const emit = (e: EngineEvent) => sinks.forEach((s) => s(e));
    session.onProgress(({ host, command, message }) => emit({ type: 'host:waiting', host, command, message }));
    const interrupt = new AbortController();
    const restoreInterrupt = ctx.onInterrupt(interruptHandler(interrupt, session, out, ctx));
    let report: RunReport;
    try {
      // plan changes nothing, so it takes no lock; apply holds every host's run lock until the end.
      if (mode === 'apply') {
        const touched = session.hosts.filter((h) => work.get(h.name)?.length);
        await session.lockRun(touched, 'apply', { forceUnlock: opts.forceUnlock, warn: (m) => out.write(`! ${m}\n`) });
      }
      report = await run({
        mode,
        hosts: session.hosts,
        work,
        connect: (h) => session.connect(h),
        redactor: session.redactor,
        emit,
        signal: interrupt.signal,
      });
    } finally {
      restoreInterrupt();
    }
    await view?.done;
    const c = colorizer(out);
    if (!opts.json) {
      if (mode === 'plan') out.write(planText(report, Boolean(opts.verbose), c) + '\n');
      out.write(summaryText(report, c) + '\n');
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

const VERBS: { mode: Mode; description: string }[] = [
  { mode: 'plan', description: 'show exactly what apply would change (packages, file diffs, services); change nothing' },
  { mode: 'apply', description: 'converge every host to the inventory; a second run changes nothing' },
];

export function registerConverge(program: Command, ctx: CliContext): void {
  for (const verb of VERBS) {
    const cmd = program
      .command(verb.mode)
      .description(verb.description)
      .option('--recipe <names>', 'only these recipes (comma-separated)');
    if (verb.mode === 'apply') cmd.option('--force-unlock', "take over a host's run lock even if another run holds it (when that run is dead)");
    addCommonOptions(cmd).action(action(ctx, (opts: ConvergeOptions) => converge(verb.mode, opts, ctx)));
  }
}
