// `tandem promote` and `tandem rejoin`: their flags; the promotion is loaded when one runs.
import type { Command } from 'commander';
import type { PromoteOptions } from '../promote.ts';
import { addCommonOptions } from '../options.ts';
import { action } from '../exit.ts';
import type { CliContext } from '../context.ts';

export function registerPromote(program: Command, ctx: CliContext): void {
  addCommonOptions(
    program
      .command('promote')
      .description('make a replica the database primary: a switchover, or with --failover when the primary is down; rewrites the inventory roles')
      .argument('<host>', 'the db-replica host to promote')
      .option('--failover', 'the primary does not answer: promote without it and fence it (db.fenced) until `tandem rejoin`')
      .option('--force', 'with --failover: promote this replica even if another has received more')
      .option('--force-unlock', "take over a host's run lock even if another run holds it (when that run is dead)"),
  ).action(action(ctx, async (host: string, opts: PromoteOptions) => (await import('../promote.ts')).promote(host, opts, ctx)));

  addCommonOptions(
    program
      .command('rejoin')
      .description('bring a former primary back as a replica (re-seeding it when its history diverged), then apply')
      .argument('<host>', 'the db-replica host to bring back')
      .option('--force-unlock', "take over a host's run lock even if another run holds it (when that run is dead)"),
  ).action(action(ctx, async (host: string, opts: PromoteOptions) => (await import('../promote.ts')).rejoin(host, opts, ctx)));
}
