// `tandem deploy` and `tandem rollback`: their flags; the rolling deploy is loaded when one runs.
import type { Command } from 'commander';
import type { DeployOptions } from '../deploy.ts';
import { addCommonOptions, positiveInt, releaseId, releaseVersion } from '../options.ts';
import { action } from '../exit.ts';
import type { CliContext } from '../context.ts';

export function registerDeploy(program: Command, ctx: CliContext): void {
  addCommonOptions(
    program
      .command('deploy')
      .description('roll a new app release out, one batch of servers at a time, with no failed requests')
      .option('--source <dir>', 'application folder to build the release from (default: app.source)')
      .option('--batch <n>', 'servers switched at once', positiveInt, 1)
      .option('--force-unlock', 'take over the deploy lock even if another deploy holds it')
      .option('--version <version>', 'release version (default: package.json version)', releaseVersion),
  ).action(action(ctx, async (opts: DeployOptions) => (await import('../deploy.ts')).deploy(opts, ctx)));

  addCommonOptions(
    program
      .command('rollback')
      .description('roll back to the previous release (or --to ID), the same rolling way')
      .option('--to <id>', 'release id to go back to (see `tandem status`)', releaseId)
      .option('--batch <n>', 'servers switched at once', positiveInt, 1)
      .option('--force-unlock', 'take over the deploy lock even if another deploy holds it'),
  ).action(action(ctx, async (opts: DeployOptions) => (await import('../deploy.ts')).rollback(opts, ctx)));
}
