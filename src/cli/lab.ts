// `tandem lab ...`: local disposable Debian servers. Parses flags, calls src/lab, prints.
import { Command, Option } from 'commander';
import {
  isLabError,
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

const print = (e: LabEvent) => console.log(renderEvent(e));

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

/** Runs a verb: foreseeable failures print what to do, never a stack trace; exit code 1. */
async function guarded(fn: () => Promise<number | void>): Promise<void> {
  try {
    const code = await fn();
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    if (isLabError(err)) {
      console.error(`error: ${err.message}`);
      if (err.hint) console.error(`  what to do: ${err.hint}`);
    } else {
      console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
      if (process.env.TANDEM_DEBUG) console.error(err);
      else console.error('  (unexpected: set TANDEM_DEBUG=1 to see where it came from)');
    }
    process.exitCode = 1;
  }
}

export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .description('local disposable Debian 13 or 12 servers (systemd-nspawn on a private bridge; needs root)')
    .enablePositionalOptions();

  lab
    .command('up')
    .description('install what the lab needs, build or reuse the base image and start the servers')
    .option('--hosts <n>', 'exactly this many servers (default: the inventory\'s; extra ones are web-03.. at .13..)', positiveInt)
    .addOption(inventoryOption())
    .action((opts: { hosts?: number; inventory: string }) =>
      guarded(async () => {
        const started = Date.now();
        const config = await labConfig(opts.inventory);
        const result = await labUp(config, { progress: print, ...(opts.hosts === undefined ? {} : { hosts: opts.hosts }) });
        const hosts =
          result.hosts.map((h) => `${h.name} ${h.address}`).join(', ') +
          (result.alsoRunning.length ? ` (also running: ${result.alsoRunning.join(', ')})` : '');
        const changed = result.started.length || result.stopped.length;
        console.log(changed ? `lab is up: ${hosts} (${seconds(Date.now() - started)})` : `lab was already up: ${hosts}; nothing changed`);
      }),
    );

  lab
    .command('down')
    .description('stop every lab process and remove its bridge, namespaces, mounts and cgroups (the cached base stays)')
    .addOption(inventoryOption())
    .action((opts: { inventory: string }) =>
      guarded(async () => {
        const config = await labConfig(opts.inventory);
        const result = await labDown(config, { progress: print });
        const nothing = !result.stopped.length && !result.proxyStopped && !result.bridgeRemoved;
        console.log(nothing ? 'lab was already down' : 'lab is down');
      }),
    );

  lab
    .command('reset')
    .description('put servers back to pristine (default: all of them)')
    .argument('[host...]', 'servers to reset')
    .addOption(inventoryOption())
    .action((hosts: string[], opts: { inventory: string }) =>
      guarded(async () => {
        const started = Date.now();
        const config = await labConfig(opts.inventory);
        const names = await labReset(config, { hosts, progress: print });
        console.log(`reset ${names.join(', ')} (${seconds(Date.now() - started)})`);
      }),
    );

  lab
    .command('status')
    .description('each server, its address, its release, and whether sshd answers')
    .option('--json', 'print the status as JSON')
    .addOption(inventoryOption())
    .action((opts: { inventory: string; json?: boolean }) =>
      guarded(async () => {
        const status = await labStatus(await labConfig(opts.inventory));
        console.log(opts.json ? JSON.stringify(status, null, 2) : renderStatus(status));
      }),
    );

  lab
    .command('ssh')
    .description('a shell, or one command, on a lab server (exits with its exit code)')
    .argument('<host>', 'server name, e.g. web-01')
    .argument('[cmd...]', 'command to run instead of a shell')
    .addOption(inventoryOption())
    .passThroughOptions()
    .action((host: string, cmd: string[], opts: { inventory: string }) =>
      guarded(async () => {
        const config = await labConfig(opts.inventory);
        return runAttached(await labSshArgv(config, host, cmd));
      }),
    );
}
