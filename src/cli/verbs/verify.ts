// `tandem verify`: its flags; the checks are loaded when it runs.
import type { Command } from 'commander';
import type { VerifyOptions } from '../verify.ts';
import { addCommonOptions, seconds } from '../options.ts';
import { action } from '../exit.ts';
import type { CliContext } from '../context.ts';

export function registerVerify(program: Command, ctx: CliContext): void {
  addCommonOptions(
    program
      .command('verify')
      .description('prove the stack works end to end: load balancers, backends, app health, replication with a canary row')
      .option('--max-lag <seconds>', "replica lag above this fails (default: the inventory's db.max_replica_lag, 10)", seconds),
  ).action(action(ctx, async (opts: VerifyOptions) => (await import('../verify.ts')).runVerify(opts, ctx)));
}
