// The alerts firing now, as each monitor host's Prometheus sees them (read over SSH with curl:
// Prometheus listens on the monitor host's loopback only).
import type { HostSpec } from '../inventory/types.ts';
import { failureText, runCommand } from '../engine/commands.ts';
import { hasRole } from '../stack/roles.ts';
import { ALERTS, parseAlerts, type Alert } from '../monitor/api.ts';
import type { StatusInput } from './gather.ts';

/** monitor host -> the alerts firing there (pending ones are not told yet), or why they could not be read. */
export type AlertsByMonitor = Record<string, Alert[] | { error: string }>;

export async function gatherAlerts(input: StatusInput): Promise<AlertsByMonitor | undefined> {
  const monitors = input.hosts.filter((h: HostSpec) => hasRole(h, 'monitor'));
  if (monitors.length === 0) return undefined;
  const out: AlertsByMonitor = {};
  await Promise.all(
    monitors.map(async (m) => {
      try {
        const res = await runCommand(await input.connect(m), ALERTS, input.redactor);
        out[m.name] = parseAlerts(res.stdout).filter((a) => a.state === 'firing');
      } catch (err) {
        out[m.name] = { error: failureText(err, input.redactor, m.name) };
      }
    }),
  );
  return out;
}

/** Pure: the lines under the status table. */
export function renderAlerts(alerts: AlertsByMonitor): string {
  const lines: string[] = [];
  for (const [monitor, list] of Object.entries(alerts)) {
    if (!Array.isArray(list)) {
      lines.push(`alerts (Prometheus on ${monitor}): cannot read them: ${list.error}`);
      continue;
    }
    lines.push(list.length ? `alerts firing (Prometheus on ${monitor}):` : `alerts (Prometheus on ${monitor}): none firing`);
    const width = Math.max(0, ...list.map((a) => a.name.length));
    const hostWidth = Math.max(0, ...list.map((a) => a.host.length));
    for (const a of list) lines.push(`  ${a.name.padEnd(width)}  ${a.host.padEnd(hostWidth)}  ${a.summary}`.trimEnd());
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
