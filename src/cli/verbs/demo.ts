// `tandem demo`: its flags; the lab, the run and the checks are loaded when it runs.
import type { Command } from 'commander';
import type { DemoOptions } from '../demo.ts';
import { action } from '../exit.ts';
import type { CliContext } from '../context.ts';

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('bring the local lab up, provision it, verify it, and print how to open the site')
    .option('-i, --inventory <file>', 'lab inventory', 'inventory/lab.yml')
    .option('--json', 'print one JSON document on standard output (progress goes to standard error)')
    .action(action(ctx, async (opts: DemoOptions) => (await import('../demo.ts')).demo(opts, ctx)));
}
