// `tandem monitor`: its flags; the tunnel is loaded when it runs.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { MonitorOptions } from '../monitor.ts';
import { addCommonOptions } from '../options.ts';
import { action } from '../exit.ts';
import type { CliContext } from '../context.ts';

/** A local TCP port; 0 lets the system pick a free one. */
function localPort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535; 0 picks a free one)');
  return n;
}

export function registerMonitor(program: Command, ctx: CliContext): void {
  addCommonOptions(
    program
      .command('monitor')
      .description("open an SSH tunnel to the monitor host's Prometheus and Alertmanager (loopback only there) and print their local URLs until Ctrl-C")
      .option('--host <name>', 'the monitor host to reach (default: the first with the role monitor)')
      .option('--prometheus-port <port>', 'local port for Prometheus', localPort, 9090)
      .option('--alertmanager-port <port>', 'local port for Alertmanager', localPort, 9093),
  ).action(action(ctx, async (opts: MonitorOptions) => (await import('../monitor.ts')).runMonitor(opts, ctx)));
}
