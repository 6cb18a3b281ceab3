// monitor: on monitor hosts, Prometheus (scraping every host's exporters, with the stack's alert
// rules), Alertmanager (delivering to the inventory's receivers) and the blackbox exporter (probing
// the public site), each on loopback: users reach them through `tandem monitor`'s SSH tunnel.
// Every config is checked by the program's own tool (promtool, amtool, --config.check) before
// the service first starts and before every restart or reload.
import { template } from '../src/ops/template.ts';
import { serviceHandler } from '../src/ops/service.ts';
import { SecretsError } from '../src/errors.ts';
import type { HostWork } from '../src/engine/types.ts';
import type { Inventory } from '../src/inventory/types.ts';
import type { Secrets } from '../src/secrets/store.ts';
import { ALERTMANAGER_PORT, BLACKBOX_EXPORTER_PORT, PROMETHEUS_PORT } from '../src/stack/names.ts';
import { hasRole } from '../src/stack/roles.ts';
import { probeModule, scrapeJobs } from '../src/monitor/targets.ts';
import { siteOf } from '../src/verify/http.ts';
import { file } from '../src/ops/file.ts';
import { rulesVars } from '../src/monitor/rules.ts';
import { packagedService } from './exporters.ts';
import type { Recipe } from './recipe.ts';

export const PROMETHEUS_CONFIG = '/etc/prometheus/prometheus.yml';
export const RULES_FILE = '/etc/prometheus/tandem-rules.yml';
export const ALERTMANAGER_CONFIG = '/etc/prometheus/alertmanager.yml';
export const BLACKBOX_CONFIG = '/etc/prometheus/blackbox.yml';
/** tls.ca on the monitor host, for the blackbox exporter's HTTPS probe of the site. */
export const SITE_CA_FILE = '/etc/prometheus/site-ca.pem';
export const MONITOR_PACKAGES = ['prometheus', 'prometheus-alertmanager', 'prometheus-blackbox-exporter'];

/** Alertmanager's receivers; the SMTP password is the secret smtp_password, required with email.username. */
export function alertmanagerVars(inv: Inventory, secrets: Secrets) {
  const { email, webhooks } = inv.monitor;
  if (email?.username !== undefined && !secrets.smtp_password) {
    throw new SecretsError(
      `${inv.file}: monitor.email.username is set but there is no SMTP password: put smtp_password in ${inv.secretsFile} or set TANDEM_SECRET_SMTP_PASSWORD`,
    );
  }
  return { webhooks, email, smtpPassword: email?.username !== undefined ? secrets.smtp_password?.reveal() : undefined };
}

export const monitor: Recipe = {
  name: 'monitor',
  packages: ({ host }) => (hasRole(host, 'monitor') ? MONITOR_PACKAGES : []),
  build({ inventory, host, secrets }) {
    if (!hasRole(host, 'monitor')) return [];
    const reload = 'reload prometheus';
    const checkPrometheus = ['promtool', 'check', 'config', PROMETHEUS_CONFIG];
    const prometheus = packagedService(
      'prometheus',
      [
        `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
        `--storage.tsdb.retention.time=${inventory.monitor.retention}`,
        `--config.file=${PROMETHEUS_CONFIG}`,
      ],
      {
        validate: checkPrometheus,
        configOps: [
          template({ path: RULES_FILE, template: 'monitor/rules.yml.ejs', vars: rulesVars(inventory), mode: '0644', notify: [reload] }),
          template({
            path: PROMETHEUS_CONFIG,
            template: 'monitor/prometheus.yml.ejs',
            vars: {
              interval: inventory.monitor.scrapeIntervalSeconds,
              rulesFile: RULES_FILE,
              alertmanager: `127.0.0.1:${ALERTMANAGER_PORT}`,
              blackbox: `127.0.0.1:${BLACKBOX_EXPORTER_PORT}`,
              jobs: scrapeJobs(inventory, host),
              probeModule: probeModule(inventory),
            },
            mode: '0644',
            notify: [reload],
          }),
        ],
        listensOn: [PROMETHEUS_PORT],
      },
    );
    const checkAlertmanager = ['amtool', 'check-config', ALERTMANAGER_CONFIG];
    const alertmanager = packagedService(
      'prometheus-alertmanager',
      [
        `--web.listen-address=127.0.0.1:${ALERTMANAGER_PORT}`,
        `--config.file=${ALERTMANAGER_CONFIG}`,
        // No cluster port: each monitor host's Alertmanager stands alone (docs/monitoring.md).
        '--cluster.listen-address=',
      ],
      {
        validate: checkAlertmanager,
        configOps: [
          template({
            path: ALERTMANAGER_CONFIG,
            template: 'monitor/alertmanager.yml.ejs',
            vars: alertmanagerVars(inventory, secrets),
            mode: '0640',
            group: 'prometheus',
            sensitive: true,
            notify: ['reload prometheus-alertmanager'],
          }),
        ],
        listensOn: [ALERTMANAGER_PORT],
      },
    );
    const siteCa = siteOf(inventory).tls?.ca;
    const checkBlackbox = ['prometheus-blackbox-exporter', '--config.check', `--config.file=${BLACKBOX_CONFIG}`];
    const blackbox = packagedService(
      'prometheus-blackbox-exporter',
      [`--config.file=${BLACKBOX_CONFIG}`, `--web.listen-address=127.0.0.1:${BLACKBOX_EXPORTER_PORT}`],
      {
        validate: checkBlackbox,
        configOps: [
          ...(siteCa ? [file({ path: SITE_CA_FILE, content: siteCa, mode: '0644', notify: ['restart prometheus-blackbox-exporter'] })] : []),
          template({
            path: BLACKBOX_CONFIG,
            template: 'monitor/blackbox.yml.ejs',
            vars: { domain: inventory.tls ? inventory.domain : undefined, caFile: siteCa ? SITE_CA_FILE : undefined },
            mode: '0644',
            notify: ['restart prometheus-blackbox-exporter'],
          }),
        ],
        configFiles: [BLACKBOX_CONFIG, ...(siteCa ? [SITE_CA_FILE] : [])],
        listensOn: [BLACKBOX_EXPORTER_PORT],
      },
    );
    const work: HostWork = {
      phase: 'lb',
      needs: [{ phase: 'base' }],
      ops: [...blackbox.ops, ...alertmanager.ops, ...prometheus.ops],
      handlers: [
        ...(blackbox.handlers ?? []),
        ...(alertmanager.handlers ?? []),
        serviceHandler('prometheus-alertmanager', 'reload', checkAlertmanager, 'reload prometheus-alertmanager', { configFiles: [ALERTMANAGER_CONFIG] }),
        ...(prometheus.handlers ?? []),
        serviceHandler('prometheus', 'reload', checkPrometheus, reload, { configFiles: [PROMETHEUS_CONFIG, RULES_FILE] }),
      ],
    };
    return [work];
  },
};
