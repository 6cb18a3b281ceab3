// `tandem lab ...`: local disposable Debian servers. Parses flags, calls src/lab, prints.
import { Command, Option } from 'commander';
import {
  labConfig,
  labDown,
  labReset,
  labSshArgv,
  labStatus,
  labUp,
  runAttached,
  type LabEvent,
  type LabStatus,
} from '../lab/index.ts';
import { positiveInt } from './options.ts';
import { action, EXIT, type Outcome } from './exit.ts';
import { textStream, type CliContext } from './context.ts';

const DEFAULT_INVENTORY = 'inventory/lab.yml';

function inventoryOption(): Option {
  return new Option('-i, --inventory <file>', 'lab inventory file').default(DEFAULT_INVENTORY);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** The plain line renderer for lab progress events. */
export function renderEvent(e: LabEvent): string {
  const who = e.host ? `${e.host}: ` : '';
  switch (e.type) {
    case 'step':
      return `-> ${who}${e.message}`;
    case 'done':
      return `ok ${who}${e.message} (${seconds(e.ms)})`;
    case 'info':
      return `   ${who}${e.message}`;
    case 'warn':
      return `!! ${who}${e.message}`;
    default: {
      const never: never = e;
      return String(never);
    }
  }
}

const printer = (ctx: CliContext) => (e: LabEvent) => textStream(ctx).write(renderEvent(e) + '\n');
const say = (ctx: CliContext, text: string) => textStream(ctx).write(text + '\n');
const jsonOption = () => new Option('--json', 'print one JSON document on standard output (progress goes to standard error)');

export function renderStatus(s: LabStatus): string {
  const lines = [
    `bridge ${s.bridge.name} ${s.bridge.gateway}: ${s.bridge.present ? 'present' : 'absent'}; ` +
      `apt proxy: ${s.proxy.running ? `running (PID ${s.proxy.pid})` : 'not running'}`,
  ];
  const rows = [
    ['HOST', 'ADDRESS', 'RELEASE', 'RUNNING', 'SSH'],
    ...s.hosts.map((h) => [h.name, h.address, h.release ?? '-', h.running ? 'yes' : 'no', h.sshBanner ?? 'no answer']),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) lines.push(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
  lines.push(s.up ? 'lab is up' : 'lab is not (fully) up');
  return lines.join('\n');
}

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
    .action(
      action(ctx, async (opts: { hosts?: number; inventory: string }): Promise<Outcome> => {
        const started = Date.now();
        const config = await labConfig(opts.inventory);
        const result = await labUp(config, { progress: printer(ctx), ...(opts.hosts === undefined ? {} : { hosts: opts.hosts }) });
        const hosts =
          result.hosts.map((h) => `${h.name} ${h.address}`).join(', ') +
          (result.alsoRunning.length ? ` (also running: ${result.alsoRunning.join(', ')})` : '');
        const changed = result.started.length || result.stopped.length;
        say(ctx, changed ? `lab is up: ${hosts} (${seconds(Date.now() - started)})` : `lab was already up: ${hosts}; nothing changed`);
        return { code: EXIT.ok, report: result };
      }),
    );

  lab
    .command('down')
    .description('stop every lab process and remove its bridge, namespaces, mounts and cgroups (the cached base stays)')
    .addOption(inventoryOption())
    .addOption(jsonOption())
    .action(
      action(ctx, async (opts: { inventory: string }): Promise<Outcome> => {
        const config = await labConfig(opts.inventory);
        const result = await labDown(config, { progress: printer(ctx) });
        const nothing = !result.stopped.length && !result.proxyStopped && !result.bridgeRemoved;
        say(ctx, nothing ? 'lab was already down' : 'lab is down');
        return { code: EXIT.ok, report: result };
      }),
    );

  lab
    .command('reset')
    .description('put servers back to pristine (default: all of them)')
    .argument('[host...]', 'servers to reset')
    .addOption(inventoryOption())
    .addOption(jsonOption())
    .action(
      action(ctx, async (hosts: string[], opts: { inventory: string }): Promise<Outcome> => {
        const started = Date.now();
        const config = await labConfig(opts.inventory);
        const names = await labReset(config, { hosts, progress: printer(ctx) });
        say(ctx, `reset ${names.join(', ')} (${seconds(Date.now() - started)})`);
        return { code: EXIT.ok, report: { reset: names } };
      }),
    );

  lab
    .command('status')
    .description('each server, its address, its release, and whether sshd answers')
    .addOption(jsonOption())
    .addOption(inventoryOption())
    .action(
      action(ctx, async (opts: { inventory: string; json?: boolean }): Promise<Outcome> => {
        const status = await labStatus(await labConfig(opts.inventory));
        if (!opts.json) ctx.stdout.write(renderStatus(status) + '\n');
        return { code: EXIT.ok, report: status };
      }),
    );

  lab
    .command('ssh')
    .description('a shell, or one command, on a lab server (exits with its exit code)')
    .argument('<host>', 'server name, e.g. web-01')
    .argument('[cmd...]', 'command to run instead of a shell')
    .addOption(inventoryOption())
    .passThroughOptions()
    .action(
      action(ctx, async (host: string, cmd: string[], opts: { inventory: string }): Promise<Outcome> => {
        const config = await labConfig(opts.inventory);
        // The remote command's own exit code, as ssh gives it.
        return { code: await runAttached(await labSshArgv(config, host, cmd)) };
      }),
    );
}
