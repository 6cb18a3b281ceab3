// `tandem plan` and `tandem apply`: their flags. The run itself (engine, recipes, release,
// renderers) is loaded when one of them runs, so `--help` stays fast.
import type { Command } from 'commander';
import type { Mode } from '../../engine/events.ts';
import type { ConvergeOptions } from '../converge.ts';
import { Timings } from '../../engine/timings.ts';
import { addCommonOptions, addParallelOption } from '../options.ts';
import { action } from '../exit.ts';
import type { CliContext } from '../context.ts';

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
    addParallelOption(addCommonOptions(cmd)).action(
      action(ctx, async (opts: ConvergeOptions) => (await import('../converge.ts')).converge(verb.mode, opts, ctx, new Timings(undefined, ctx.processStart))),
    );
  }
}
