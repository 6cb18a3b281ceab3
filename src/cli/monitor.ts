// `tandem monitor`: Prometheus and Alertmanager listen on the monitor host's loopback only; this
// forwards a local port to each through the SSH connection (no port opened to the world) and
// keeps them open until Ctrl-C.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { HostSpec } from '../inventory/types.ts';
import type { Connection } from '../ssh/connection.ts';
import { ALERTMANAGER_PORT, PROMETHEUS_PORT } from '../stack/names.ts';
import { UsageError } from '../errors.ts';
import { hasRole } from '../stack/roles.ts';
import type { CommonOptions } from './options.ts';
import { openSession } from './session.ts';
import { EXIT, type Outcome } from './exit.ts';
import { textStream, type CliContext } from './context.ts';

export interface MonitorOptions extends CommonOptions {
  host?: string;
  prometheusPort: number;
  alertmanagerPort: number;
}

/** The monitor host to reach: --host, else the inventory's first. */
export function monitorHostOf(hosts: HostSpec[], wanted: string | undefined, file: string): HostSpec {
  const monitors = hosts.filter((h) => hasRole(h, 'monitor'));
  if (monitors.length === 0) throw new UsageError(`${file}: no host has the role monitor (add it to a host's roles, then apply)`);
  if (wanted === undefined) return monitors[0]!;
  const found = monitors.find((h) => h.name === wanted);
  if (!found) throw new UsageError(`--host: ${wanted} is not a monitor host (monitor hosts: ${monitors.map((h) => h.name).join(', ')})`);
  return found;
}

/** A local listener whose every connection is piped to toPort on the remote host's loopback. */
async function tunnel(conn: Connection, localPort: number, toPort: number, onError: (message: string) => void): Promise<net.Server> {
  const server = net.createServer((local) => {
    conn.forward('127.0.0.1', toPort).then(
      (remote: Duplex) => {
        local.pipe(remote).pipe(local);
        const end = () => {
          local.destroy();
          remote.destroy();
        };
        local.on('error', end).on('close', end);
        remote.on('error', end).on('close', end);
      },
      (err: unknown) => {
        onError((err as Error).message);
        local.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new UsageError(`local port ${localPort} is in use: pick another with --prometheus-port/--alertmanager-port (0: any free port)`, { cause: err }) : err),
    );
    server.listen(localPort, '127.0.0.1', () => resolve());
  });
  return server;
}

export async function runMonitor(opts: MonitorOptions, ctx: CliContext): Promise<Outcome> {
  const session = await openSession(opts, { createSecrets: false }, ctx);
  const servers: net.Server[] = [];
  try {
    const host = monitorHostOf(session.hosts, opts.host, session.inventory.file);
    const conn = await session.connect(host);
    const out = textStream(ctx);
    const warn = (m: string) => ctx.stderr.write(`! ${host.name}: ${m}\n`);
    servers.push(await tunnel(conn, opts.prometheusPort, PROMETHEUS_PORT, warn));
    servers.push(await tunnel(conn, opts.alertmanagerPort, ALERTMANAGER_PORT, warn));
    const [prometheus, alertmanager] = servers.map((s) => `http://127.0.0.1:${(s.address() as net.AddressInfo).port}/`);
    out.write(`Prometheus on ${host.name}: ${prometheus}\nAlertmanager on ${host.name}: ${alertmanager}\n(Ctrl-C to close the tunnel)\n`);
    if (ctx.json) ctx.stdout.write(`${JSON.stringify({ host: host.name, prometheus, alertmanager })}\n`);
    // Until Ctrl-C (a tunnel whose SSH connection ended says so on each new connection).
    await new Promise<void>((resolve) => {
      const restore = ctx.onInterrupt(() => {
        restore();
        resolve();
      });
    });
    return { code: EXIT.ok };
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await session.close();
  }
}
