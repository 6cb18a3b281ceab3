// `tandem lab ...`: local disposable Debian servers. Calls src/lab, prints (flags: verbs/lab.ts).
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
import { EXIT, type Outcome } from './exit.ts';
import { textStream, type CliContext } from './context.ts';

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

export async function up(opts: { hosts?: number; inventory: string }, ctx: CliContext): Promise<Outcome> {
  const started = Date.now();
  const config = await labConfig(opts.inventory);
  const result = await labUp(config, { progress: printer(ctx), ...(opts.hosts === undefined ? {} : { hosts: opts.hosts }) });
  const hosts =
    result.hosts.map((h) => `${h.name} ${h.address}`).join(', ') +
    (result.alsoRunning.length ? ` (also running: ${result.alsoRunning.join(', ')})` : '');
  const changed = result.started.length || result.stopped.length;
  say(ctx, changed ? `lab is up: ${hosts} (${seconds(Date.now() - started)})` : `lab was already up: ${hosts}; nothing changed`);
  return { code: EXIT.ok, report: result };
}

export async function down(opts: { inventory: string }, ctx: CliContext): Promise<Outcome> {
  const config = await labConfig(opts.inventory);
  const result = await labDown(config, { progress: printer(ctx) });
  const nothing = !result.stopped.length && !result.proxyStopped && !result.bridgeRemoved;
  say(ctx, nothing ? 'lab was already down' : 'lab is down');
  return { code: EXIT.ok, report: result };
}

export async function reset(hosts: string[], opts: { inventory: string }, ctx: CliContext): Promise<Outcome> {
  const started = Date.now();
  const config = await labConfig(opts.inventory);
  const names = await labReset(config, { hosts, progress: printer(ctx) });
  say(ctx, `reset ${names.join(', ')} (${seconds(Date.now() - started)})`);
  return { code: EXIT.ok, report: { reset: names } };
}

export async function status(opts: { inventory: string; json?: boolean }, ctx: CliContext): Promise<Outcome> {
  const st = await labStatus(await labConfig(opts.inventory));
  if (!opts.json) ctx.stdout.write(renderStatus(st) + '\n');
  return { code: EXIT.ok, report: st };
}

export async function ssh(host: string, cmd: string[], opts: { inventory: string }): Promise<Outcome> {
  const config = await labConfig(opts.inventory);
  // The remote command's own exit code, as ssh gives it.
  return { code: await runAttached(await labSshArgv(config, host, cmd)) };
}
