// verify, on each monitor host: Prometheus sees every target the inventory implies and each is up,
// it has loaded every alert rule, and Alertmanager answers.
import type { HostSpec, Inventory } from '../inventory/types.ts';
import type { Command } from '../engine/types.ts';
import type { ExecResult } from '../ssh/connection.ts';
import { hasRole } from '../stack/roles.ts';
import { expectedTargetCount } from '../monitor/targets.ts';
import { ALERTMANAGER_STATUS, expectedAlertNames, parseRules, parseTargets, RULES, TARGETS } from '../monitor/api.ts';

type CheckOutcome = { figure: string; ok?: boolean; detail?: string };
type Run = (check: string, host: string | undefined, fn: () => Promise<CheckOutcome>) => Promise<void>;
type Retried = (check: () => Promise<CheckOutcome>, withinMs: number) => Promise<CheckOutcome>;

export async function verifyMonitoring(
  inv: Inventory,
  hosts: HostSpec[],
  exec: (h: HostSpec, cmd: Command) => Promise<ExecResult>,
  run: Run,
  retried: Retried,
): Promise<void> {
  // A target Prometheus has not scraped yet (right after apply) is "unknown": wait two scrapes.
  const settleMs = (2 * inv.monitor.scrapeIntervalSeconds + 5) * 1000;
  for (const m of hosts.filter((h) => hasRole(h, 'monitor'))) {
    await run('Prometheus sees every expected target up', m.name, () =>
      retried(async () => {
        const targets = parseTargets((await exec(m, TARGETS)).stdout);
        const expected = expectedTargetCount(inv, m);
        const notUp = targets.filter((t) => t.health !== 'up');
        const ok = targets.length === expected && notUp.length === 0;
        return {
          ok,
          figure: `${targets.length - notUp.length}/${expected} targets up`,
          detail: ok
            ? undefined
            : [
                ...(targets.length !== expected ? [`Prometheus has ${targets.length} targets, the inventory implies ${expected}`] : []),
                ...notUp.slice(0, 5).map((t) => `${t.job} on ${t.host} ${t.health}${t.lastError ? `: ${t.lastError}` : ''}`),
              ].join('; '),
        };
      }, settleMs),
    );
    await run('Prometheus has loaded every alert rule', m.name, async () => {
      const loaded = parseRules((await exec(m, RULES)).stdout);
      const missing = expectedAlertNames(inv).filter((n) => !loaded.some((r) => r.name === n));
      const broken = loaded.filter((r) => r.health === 'err').map((r) => r.name);
      const ok = missing.length === 0 && broken.length === 0;
      return {
        ok,
        figure: `${loaded.length} alert rules loaded`,
        detail: ok ? undefined : [missing.length ? `missing: ${missing.join(', ')}` : '', broken.length ? `failing to evaluate: ${broken.join(', ')}` : ''].filter(Boolean).join('; '),
      };
    });
    await run('Alertmanager answers', m.name, async () => {
      const status = JSON.parse((await exec(m, ALERTMANAGER_STATUS)).stdout) as { versionInfo?: { version?: string }; uptime?: string };
      return { figure: `Alertmanager ${status.versionInfo?.version ?? '?'}, up since ${status.uptime ?? '?'}` };
    });
  }
}
