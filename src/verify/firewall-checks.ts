// verify's firewall checks (src/verify/firewall.ts has the pure parts): one per host probed from
// this machine, with its table of ports; one per server that must reach others.
import type { HostSpec, Inventory } from '../inventory/types.ts';
import type { Command } from '../engine/types.ts';
import type { ExecResult } from '../ssh/connection.ts';
import { sshClientFact } from '../facts/firewall.ts';
import { expectedFromHere, parsePathProbe, pathProbeScript, portOk, portTable, stackPaths, type PortRow } from './firewall.ts';
import type { PortState } from './ports.ts';

export interface FirewallCheckInput {
  inventory: Inventory;
  hosts: HostSpec[];
  probePort(address: string, port: number): Promise<PortState>;
}

type Run = (check: string, host: string | undefined, fn: () => Promise<{ figure: string; ok?: boolean; detail?: string; rows?: PortRow[] }>) => Promise<void>;
type Exec = (h: HostSpec, cmd: Command) => Promise<ExecResult>;

export async function verifyFirewall(input: FirewallCheckInput, run: Run, exec: Exec): Promise<void> {
  const inv = input.inventory;
  // Every host's ports at once: a dropped port costs its whole timeout, so they wait together.
  const probeHost = async (h: HostSpec): Promise<PortRow[]> => {
    // Where this machine connects from, as the host sees it: which rules are meant for us.
    const client = sshClientFact.parse((await exec(h, { kind: 'script', script: sshClientFact.script, describe: 'where this connection comes from (SSH_CONNECTION)' })).stdout, 0);
    return Promise.all(
      [...expectedFromHere(inv, h, client)].map(async ([port, expected]): Promise<PortRow> => {
        const seen = await input.probePort(h.address, port);
        return { port, expected, seen, ok: portOk(expected, seen) };
      }),
    );
  };
  const probed = new Map(input.hosts.map((h) => [h.name, probeHost(h)]));
  // Each host's failure is its own check's (below), not an unhandled rejection meanwhile.
  for (const p of probed.values()) p.catch(() => undefined);
  for (const h of input.hosts) {
    await run('the firewall lets this machine reach only what it should', h.name, async () => {
      const rows = await probed.get(h.name)!;
      const wrong = rows.filter((r) => !r.ok);
      const allowed = rows.filter((r) => r.expected === 'allowed').map((r) => r.port);
      return {
        ok: wrong.length === 0,
        figure: `${rows.length - wrong.length}/${rows.length} ports as expected (through: ${allowed.join(', ') || 'none'})`,
        detail: wrong.length ? `\n${portTable(rows)}` : undefined,
        rows,
      };
    });
  }
  for (const [from, targets] of stackPaths(inv, input.hosts)) {
    const h = input.hosts.find((x) => x.name === from)!;
    await run('the paths the stack needs from this server are open', from, async () => {
      const res = await exec(h, { kind: 'script', script: pathProbeScript(targets), describe: 'connect to the ports the stack needs on other servers', okExitCodes: 'any' });
      const seen = parsePathProbe(res.stdout);
      const shown = targets.map((t) => `${t.to.name}:${t.port} ${seen.get(`${t.to.address} ${t.port}`) ? 'ok' : 'FAILED'}`);
      const failed = targets.filter((t) => !seen.get(`${t.to.address} ${t.port}`));
      return { ok: failed.length === 0, figure: shown.join(', '), detail: failed.length ? `no connection from ${from} to ${failed.map((t) => `${t.to.name}:${t.port}`).join(', ')}` : undefined };
    });
  }
}
