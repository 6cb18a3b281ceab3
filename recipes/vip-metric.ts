// vip-metric: in active-passive mode with a monitor host, each lb host tells Prometheus whether it
// holds the shared address (tandem_vip_held, through the node exporter's textfile folder, written
// every 5 s by a systemd timer), so that an alert can see it held by two load balancers at once.
// A probe from the monitor host can only see that some host answers on it.
import { template } from '../src/ops/template.ts';
import { service, daemonReloadFor } from '../src/ops/service.ts';
import { addressesCommand } from '../src/facts/address.ts';
import { sh } from '../src/ssh/shell.ts';
import { hasRole } from '../src/stack/roles.ts';
import { isMonitored } from '../src/monitor/targets.ts';
import type { Recipe } from './recipe.ts';

export const VIP_UNIT = 'tandem-vip-held';
/** Debian's node exporter reads *.prom files here (its --collector.textfile.directory default). */
export const TEXTFILE_DIR = '/var/lib/prometheus/node-exporter';

/** The script the unit runs: the metric written to a temporary file, then renamed over the old one. */
export function vipScript(iface: string, vip: string): string {
  const out = `${TEXTFILE_DIR}/tandem_vip.prom`;
  return [
    'held=0',
    `${sh`${addressesCommand(iface)}`} | grep -qF ${sh`${` ${vip}/`}`} && held=1`,
    `printf '# TYPE tandem_vip_held gauge\\ntandem_vip_held %s\\n' "$held" > ${sh`${out}.tmp`}`,
    sh`exec mv ${`${out}.tmp`} ${out}`,
  ].join('; ');
}

export const vipMetric: Recipe = {
  name: 'vip-metric',
  build({ inventory, host }) {
    const failover = inventory.lb.failover;
    if (!hasRole(host, 'lb') || !isMonitored(inventory)) return [];
    if (!failover) {
      // Left from an earlier active-passive setup: stopped, as keepalived is.
      return [{ phase: 'lb', needs: [{ phase: 'base' }], ops: [service({ name: `${VIP_UNIT}.timer`, enabled: false, running: false, onlyIfInstalled: true })] }];
    }
    const reload = daemonReloadFor(`${VIP_UNIT}.timer`);
    return [
      {
        phase: 'lb',
        needs: [{ phase: 'base' }],
        ops: [
          template({
            path: `/etc/systemd/system/${VIP_UNIT}.service`,
            template: 'monitor/vip-held.service.ejs',
            vars: { vip: failover.vip, script: vipScript(failover.interface, failover.vip) },
            mode: '0644',
            notify: [reload.id],
          }),
          template({ path: `/etc/systemd/system/${VIP_UNIT}.timer`, template: 'monitor/vip-held.timer.ejs', vars: {}, mode: '0644', notify: [reload.id] }),
          service({ name: `${VIP_UNIT}.timer` }),
        ],
        handlers: [reload],
      },
    ];
  },
};
