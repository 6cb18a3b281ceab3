// `tandem deploy` and `tandem rollback`.
import { Listr } from 'listr2';
import { checkDeployScope, rollingDeploy, type DeployEvent, type DeployReport, type Target } from '../deploy/rolling.ts';
import { prepareRelease } from '../release/prepare.ts';
import { hasRole } from '../stack/roles.ts';
import type { CommonOptions } from './options.ts';
import type { Inventory } from '../inventory/types.ts';
import { openSession } from './session.ts';
import { outcomeOf, type Outcome } from './exit.ts';
import { textStream, type CliContext } from './context.ts';
import { HostFailedError, InterruptedError } from '../errors.ts';
import { colorizer } from './render/format.ts';
import { runningText } from './interrupt.ts';

export interface DeployOptions extends CommonOptions {
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

async function runRolling(
  verb: 'deployed' | 'rolled back to',
  opts: DeployOptions,
  target: (source: string, inventory: Inventory) => Promise<Target>,
  ctx: CliContext,
): Promise<Outcome> {
  const session = await openSession(opts, { createSecrets: false }, ctx);
  const out = textStream(ctx, Boolean(opts.json));
  try {
    // A flag that cannot work is refused before a release is built.
    checkDeployScope(session.inventory, session.hosts, opts.batch ?? 1);
    const t = await target(opts.source ?? session.inventory.app.source, session.inventory);
    // First Ctrl-C: finish the server in progress, then put back what this deploy switched and
    // quit. A second one quits at once (the run lock ends with the connections either way).
    const interrupt = new AbortController();
    const onSignal = () => {
      const running = session.running();
      if (interrupt.signal.aborted) {
        if (running.length) out.write(`\nabandoned; these may still run on the servers:\n${runningText(running)}\n`);
        return ctx.exit?.(130);
      }
      interrupt.abort();
      out.write('\nstopping: the server in progress finishes, then every server switched goes back (Ctrl-C again to quit at once, leaving the lock)\n');
      if (running.length) out.write(`running now:\n${runningText(running)}\n`);
    };
    const restoreInterrupt = ctx.onInterrupt(onSignal);
    const apps = session.hosts.filter((h) => hasRole(h, 'app')).map((h) => h.name);
    // The run lock of every host the deploy acts on: its app servers and every load balancer.
    const touched = session.inventory.hosts.filter((h) => apps.includes(h.name) || hasRole(h, 'lb'));
    await session.runLock(verb === 'deployed' ? 'deploy' : 'rollback', { forceUnlock: opts.forceUnlock, warn: (m) => out.write(`! ${m}\n`) }).acquire(touched, (h) => session.connect(h));
    const view = out.isTTY && !opts.verbose ? listrSink(apps, out) : undefined;
    const lines = !view && (!opts.json || opts.verbose) ? lineSink(out) : undefined;
    let report: DeployReport;
    try {
      report = await rollingDeploy({
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
    } finally {
      restoreInterrupt();
      await view?.finish();
    }
    const c = colorizer(out);
    if (!opts.json) {
      const longest = Math.max(0, ...Object.values(report.servers).map((s) => s.outOfRotationMs));
      out.write(
        report.ok
          ? `${c.green(verb)} ${report.release} on ${Object.keys(report.servers).join(', ')} in ${(report.durationMs / 1000).toFixed(1)}s (longest out of rotation: ${longest} ms)\n`
          : `${c.red('FAILED')}: ${report.error}\n`,
      );
    }
    const failures: unknown[] = [...session.connectFailures.values()];
    if (report.interrupted) failures.push(new InterruptedError(report.error ?? 'interrupted'));
    else if (!report.ok) failures.push(new HostFailedError(report.error ?? `${verb}: failed`));
    return outcomeOf(report, failures);
  } finally {
    await session.close();
  }
}

export function deploy(opts: DeployOptions, ctx: CliContext): Promise<Outcome> {
  return runRolling(
    'deployed',
    opts,
    async (source, inv) => ({
      kind: 'release',
      release: await prepareRelease(source, { version: opts.version, entry: inv.app.entry, field: opts.source ? '--source' : 'app.source', env: ctx.env }),
    }),
    ctx,
  );
}

export function rollback(opts: DeployOptions, ctx: CliContext): Promise<Outcome> {
  return runRolling('rolled back to', opts, async () => (opts.to ? { kind: 'named', id: opts.to } : { kind: 'previous' }), ctx);
}
