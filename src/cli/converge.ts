// plan and apply: the same run, one computing changes, the other making them.
import type { Command } from 'commander';
import { run } from '../engine/run.ts';
import type { EngineEvent, EventSink, Mode, RunReport } from '../engine/events.ts';
import { buildWork, selectRecipes } from '../../recipes/index.ts';
import { prepareRelease } from '../release/prepare.ts';
import { addCommonOptions, addParallelOption, type CommonOptions } from './options.ts';
import { openSession, type Session } from './session.ts';
import { action, outcomeOf, type Outcome } from './exit.ts';
import { textStream, type CliContext } from './context.ts';
import { lineRenderer } from './render/lines.ts';
import { listrRenderer } from './render/listr.ts';
import { colorizer, planText, summaryText } from './render/format.ts';

interface ConvergeOptions extends CommonOptions {
  recipe?: string;
  parallel?: number;
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
    const report = await run({
      mode,
      hosts: session.hosts,
      work,
      connect: (h) => session.connect(h),
      redactor: session.redactor,
      emit: (e: EngineEvent) => sinks.forEach((s) => s(e)),
      concurrency: opts.parallel ?? session.inventory.parallel,
    });
    await view?.done;
    const c = colorizer(out);
    if (!opts.json) {
      if (mode === 'plan') out.write(planText(report, Boolean(opts.verbose), c) + '\n');
      out.write(summaryText(report, c) + '\n');
    }
    // The control process's peak memory so far (Linux: KiB), so a fleet's cost shows in --json.
    const measured = { ...report, peakRssKiB: process.resourceUsage().maxRSS };
    return { ...outcomeOf(measured, hostFailures(report, session), { changes: mode === 'plan' && report.summary.changed > 0 }), report: measured };
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
    addParallelOption(addCommonOptions(
      program
        .command(verb.mode)
        .description(verb.description)
        .option('--recipe <names>', 'only these recipes (comma-separated)'),
    )).action(action(ctx, (opts: ConvergeOptions) => converge(verb.mode, opts, ctx)));
  }
}
