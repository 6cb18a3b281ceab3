// The alert rules' settings, from the inventory: what templates/monitor/rules.yml.ejs is rendered
// with, by the recipe that writes the file and by verify, which checks Prometheus loaded them all.
import type { Inventory } from '../inventory/types.ts';

/** The rules' thresholds and `for`; failover: the shared address, in active-passive mode. */
export function rulesVars(inv: Inventory) {
  const m = inv.monitor;
  return {
    for: m.alertAfterSeconds,
    replicaLag: m.replicaLagSeconds,
    errorRatio: m.errorRatio,
    diskFull: m.diskFullPercent,
    certDays: m.certExpiryDays,
    failover: inv.lb.failover?.vip,
  };
}

