// plan and apply: the same run, one computing changes, the other making them.
import type { Command } from 'commander';
import { run } from '../engine/run.ts';
import type { EngineEvent, EventSink, Mode, RunReport } from '../engine/events.ts';
import { buildWork, selectRecipes } from '../../recipes/index.ts';
import { prepareRelease } from '../release/prepare.ts';
import { addCommonOptions, type CommonOptions } from './options.ts';
import { openSession } from './session.ts';
import { action } from './exit.ts';
import { lineRenderer } from './render/lines.ts';
import { listrRenderer } from './render/listr.ts';
import { colorizer, planText, summaryText } from './render/format.ts';

interface ConvergeOptions extends CommonOptions {
  recipe?: string;
}

export async function converge(mode: Mode, opts: ConvergeOptions): Promise<{ report: RunReport; code: number }> {
  const recipes = selectRecipes(opts.recipe);
  const session = await openSession(opts, { createSecrets: mode === 'apply' });
  try {
    // Recipes render templates here: a template error stops the run before any connection.
    const release = recipes.some((r) => r.name === 'app') ? await prepareRelease(session.inventory.app.source, { entry: session.inventory.app.entry }) : undefined;
    const work = buildWork(session.inventory, session.hosts, session.secrets, recipes, release);
    const out = opts.json ? process.stderr : process.stdout;
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
    });
    await view?.done;
    const c = colorizer(out);
    if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      if (mode === 'plan') out.write(planText(report, Boolean(opts.verbose), c) + '\n');
      out.write(summaryText(report, c) + '\n');
    }
    const code = report.summary.failed > 0 ? 1 : mode === 'plan' && report.summary.changed > 0 ? 2 : 0;
    return { report, code };
  } finally {
    await session.close();
  }
}

const VERBS: { mode: Mode; description: string; exitCodes: string }[] = [
  {
    mode: 'plan',
    description: 'show exactly what apply would change (packages, file diffs, services); change nothing',
    exitCodes: 'Exit codes: 0 nothing to change, 1 failure, 2 changes pending.',
  },
  { mode: 'apply', description: 'converge every host to the inventory; a second run changes nothing', exitCodes: 'Exit codes: 0 success, 1 failure.' },
];

export function registerConverge(program: Command): void {
  for (const verb of VERBS) {
    addCommonOptions(
      program
        .command(verb.mode)
        .description(verb.description)
        .option('--recipe <names>', 'only these recipes (comma-separated)')
        .addHelpText('after', `\n${verb.exitCodes}`),
    ).action(action(async (opts: ConvergeOptions) => (await converge(verb.mode, opts)).code));
  }
}
