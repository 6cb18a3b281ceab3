// `tandem status`: its flags; the status reader is loaded when it runs.
import type { Command } from 'commander';
import { addCommonOptions, type CommonOptions } from '../options.ts';
import { action } from '../exit.ts';
import type { CliContext } from '../context.ts';

export function registerStatus(program: Command, ctx: CliContext): void {
  addCommonOptions(
    program.command('status').description('one screen: servers, current releases, replication, their state in every load balancer, and a verdict: exits 0 healthy, 5 degraded, 6 down'),
  ).action(action(ctx, async (opts: CommonOptions) => (await import('../status.ts')).status(opts, ctx)));
}
