// `tandem deploy` and `tandem rollback`.
import type { Command } from 'commander';
import { Listr } from 'listr2';
import { rollingDeploy, type DeployEvent, type DeployReport, type Target } from '../deploy/rolling.ts';
import { prepareRelease } from '../release/prepare.ts';
import { hasRole } from '../stack/roles.ts';
import { addCommonOptions, positiveInt, type CommonOptions } from './options.ts';
import type { Inventory } from '../inventory/types.ts';
import { openSession } from './session.ts';
import { action } from './exit.ts';
import { colorizer } from './render/format.ts';

interface DeployOptions extends CommonOptions {
  source?: string;
  batch?: number;
  forceUnlock?: boolean;
  to?: string;
  version?: string;
}

function lineSink(out: NodeJS.WriteStream): (e: DeployEvent) => void {
  const c = colorizer(out);
  return (e) => {
    if (e.type === 'deploy:start') out.write(`rolling ${e.release} to ${e.hosts.join(', ')}\n`);
    else if (e.type === 'server:step') out.write(`[${e.host}] ${e.step}\n`);
    else if (e.type === 'warn') out.write(`${c.yellow('!')} ${e.message}\n`);
    else out.write(`[${e.host}] ${e.report.status === 'failed' ? c.red('✖') : c.green('✔')} ${e.report.status}: ${e.report.from ?? '(none)'} -> ${e.report.to} (out of rotation ${e.report.outOfRotationMs} ms)\n`);
  };
}

/** One listr2 task per server, its title following that server's steps. */
function listrSink(hosts: string[], out: NodeJS.WriteStream): { sink: (e: DeployEvent) => void; finish(): Promise<void> } {
  const titles = new Map<string, (t: string) => void>();
  const finishers = new Map<string, { resolve(): void; reject(e: Error): void }>();
  const waits = new Map(
    hosts.map((h) => [h, new Promise<void>((resolve, reject) => finishers.set(h, { resolve, reject }))] as const),
  );
  const list = new Listr(
    hosts.map((h) => ({
      title: `${h}: waiting`,
      task: async (_: unknown, task: { title: string }) => {
        titles.set(h, (t) => (task.title = t));
        await waits.get(h);
      },
    })),
    { concurrent: true, exitOnError: false, registerSignalListeners: false },
  );
  const running = list.run().catch(() => undefined);
  return {
    sink(e) {
      if (e.type === 'server:step') titles.get(e.host)?.(`${e.host}: ${e.step}`);
      else if (e.type === 'server:done') {
        titles.get(e.host)?.(`${e.host}: ${e.report.status} ${e.report.from ?? ''} -> ${e.report.to} (out ${e.report.outOfRotationMs} ms)`);
        if (e.report.status === 'failed') finishers.get(e.host)?.reject(new Error(`${e.host}: health check failed, back on ${e.report.to}`));
        else finishers.get(e.host)?.resolve();
      } else if (e.type === 'warn') out.write(`! ${e.message}\n`);
    },
    async finish() {
      for (const f of finishers.values()) f.resolve();
      await running;
    },
  };
}

async function runRolling(verb: 'deployed' | 'rolled back to', opts: DeployOptions, target: (source: string, inventory: Inventory) => Promise<Target>): Promise<number> {
  const session = await openSession(opts, { createSecrets: false });
  const out = opts.json ? process.stderr : process.stdout;
  try {
    const t = await target(opts.source ?? session.inventory.app.source, session.inventory);
    // First Ctrl-C: finish the server in progress, then put back what this deploy switched and
    // release the lock. A second one quits at once (the lock then stays until it expires).
    const interrupt = new AbortController();
    const onSignal = () => {
      if (interrupt.signal.aborted) process.exit(130);
      interrupt.abort();
      out.write('\nstopping: the server in progress finishes, then every server switched goes back (Ctrl-C again to quit at once, leaving the lock)\n');
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const apps = session.hosts.filter((h) => hasRole(h, 'app')).map((h) => h.name);
    const view = out.isTTY && !opts.verbose ? listrSink(apps, out) : undefined;
    const lines = !view && (!opts.json || opts.verbose) ? lineSink(out) : undefined;
    const report: DeployReport = await rollingDeploy({
      inventory: session.inventory,
      hosts: session.hosts,
      connect: (h) => session.connect(h),
      redactor: session.redactor,
      emit: (e) => {
        view?.sink(e);
        lines?.(e);
      },
      target: t,
      batch: opts.batch ?? 1,
      forceUnlock: opts.forceUnlock,
      signal: interrupt.signal,
    });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await view?.finish();
    const c = colorizer(out);
    if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      const longest = Math.max(0, ...Object.values(report.servers).map((s) => s.outOfRotationMs));
      out.write(
        report.ok
          ? `${c.green(verb)} ${report.release} on ${Object.keys(report.servers).join(', ')} in ${(report.durationMs / 1000).toFixed(1)}s (longest out of rotation: ${longest} ms)\n`
          : `${c.red('FAILED')}: ${report.error}\n`,
      );
    }
    return report.ok ? 0 : report.interrupted ? 130 : 1;
  } finally {
    await session.close();
  }
}

export function registerDeploy(program: Command): void {
  addCommonOptions(
    program
      .command('deploy')
      .description('roll a new app release out, one batch of servers at a time, with no failed requests')
      .option('--source <dir>', 'application folder to build the release from (default: app.source)')
      .option('--batch <n>', 'servers switched at once', positiveInt, 1)
      .option('--force-unlock', 'take over the deploy lock even if another deploy holds it')
      .option('--version <version>', 'release version (default: package.json version)'),
  ).action(action((opts: DeployOptions) => runRolling('deployed', opts, async (source, inv) => ({ kind: 'release', release: await prepareRelease(source, { version: opts.version, entry: inv.app.entry }) }))));

  addCommonOptions(
    program
      .command('rollback')
      .description('roll back to the previous release (or --to ID), the same rolling way')
      .option('--to <id>', 'release id to go back to (see `tandem status`)')
      .option('--batch <n>', 'servers switched at once', positiveInt, 1)
      .option('--force-unlock', 'take over the deploy lock even if another deploy holds it'),
  ).action(action((opts: DeployOptions) => runRolling('rolled back to', opts, async () => (opts.to ? { kind: 'named', id: opts.to } : { kind: 'previous' }))));
}
