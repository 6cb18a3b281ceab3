// `tandem lab ...`: the flags of each subcommand; the lab itself is loaded when one runs.
import { Option, type Command } from 'commander';
import { positiveInt } from '../options.ts';
import { action } from '../exit.ts';
import type { CliContext } from '../context.ts';

const DEFAULT_INVENTORY = 'inventory/lab.yml';

function inventoryOption(): Option {
  return new Option('-i, --inventory <file>', 'lab inventory file').default(DEFAULT_INVENTORY);
}

const jsonOption = () => new Option('--json', 'print one JSON document on standard output (progress goes to standard error)');
const verbs = () => import('../lab.ts');

export function registerLab(program: Command, ctx: CliContext): void {
  const lab = program
    .command('lab')
    .description('local disposable Debian 13 or 12 servers (systemd-nspawn on a private bridge; needs root)')
    .enablePositionalOptions();

  lab
    .command('up')
    .description('install what the lab needs, build or reuse the base image and start the servers')
    .option('--hosts <n>', 'exactly this many servers (default: the inventory\'s; extra ones are web-03.. at .13..)', positiveInt)
    .addOption(inventoryOption())
    .addOption(jsonOption())
    .action(action(ctx, async (opts: { hosts?: number; inventory: string }) => (await verbs()).up(opts, ctx)));

  lab
    .command('down')
    .description('stop every lab process and remove its bridge, namespaces, mounts and cgroups (the cached base stays)')
    .addOption(inventoryOption())
    .addOption(jsonOption())
    .action(action(ctx, async (opts: { inventory: string }) => (await verbs()).down(opts, ctx)));

  lab
    .command('reset')
    .description('put servers back to pristine (default: all of them)')
    .argument('[host...]', 'servers to reset')
    .addOption(inventoryOption())
    .addOption(jsonOption())
    .action(action(ctx, async (hosts: string[], opts: { inventory: string }) => (await verbs()).reset(hosts, opts, ctx)));

  lab
    .command('status')
    .description('each server, its address, its release, and whether sshd answers')
    .addOption(jsonOption())
    .addOption(inventoryOption())
    .action(action(ctx, async (opts: { inventory: string; json?: boolean }) => (await verbs()).status(opts, ctx)));

  lab
    .command('ssh')
    .description('a shell, or one command, on a lab server (exits with its exit code)')
    .argument('<host>', 'server name, e.g. web-01')
    .argument('[cmd...]', 'command to run instead of a shell')
    .addOption(inventoryOption())
    .passThroughOptions()
    .action(action(ctx, async (host: string, cmd: string[], opts: { inventory: string }) => (await verbs()).ssh(host, cmd, opts)));
}
