// What Prometheus scrapes, derived from the inventory: one pure function that the config
// template, `verify` and the tests share, so "every expected target is up" means one thing.
import type { HostSpec, Inventory } from '../inventory/types.ts';
import {
  ALERTMANAGER_PORT,
  HAPROXY_METRICS_PORT,
  HTTP_PORT,
  MYSQLD_EXPORTER_PORT,
  NGINX_EXPORTER_PORT,
  NGINX_PORT,
  NODE_EXPORTER_PORT,
  PROMETHEUS_PORT,
} from '../stack/names.ts';
import { hasRole, isDbHost } from '../stack/roles.ts';
import { InventoryError } from '../errors.ts';

export interface Target {
  /** host:port, or the URL the blackbox exporter probes (job `probe`). */
  address: string;
  /** The host the target concerns: every alert about it names this host. */
  host: string;
}

export interface ScrapeJob {
  name: 'node' | 'mysqld' | 'nginx' | 'app' | 'haproxy' | 'probe' | 'prometheus' | 'alertmanager';
  metricsPath: string;
  targets: Target[];
}

export const monitorHosts = (inv: Inventory): HostSpec[] => inv.hosts.filter((h) => hasRole(h, 'monitor'));
/** Hosts whose app's own metrics Prometheus reads, through the host's Nginx (the firewall opens that port to it). */
export const servesAppMetrics = (h: HostSpec): boolean => hasRole(h, 'web') && hasRole(h, 'app');
/**
 * The monitor hosts' addresses, which Nginx lets read the app's metrics: `allow` takes addresses
 * only, so a monitor host given by name is refused here, naming it.
 */
export function monitorAddresses(inv: Inventory): string[] {
  const named = monitorHosts(inv).filter((h) => !/^\d{1,3}(\.\d{1,3}){3}$/.test(h.address));
  if (named.length) {
    throw new InventoryError(named.map((h) => `${inv.file}: hosts.${h.name}.address: a monitor host needs an IPv4 address, not a name (${h.address}): web hosts let that address read the app's metrics`));
  }
  return monitorHosts(inv).map((h) => h.address);
}

/** Exporters and the metrics endpoints exist only when some host monitors them. */
export const isMonitored = (inv: Inventory): boolean => monitorHosts(inv).length > 0;

/**
 * The public site as a visitor reaches it: the shared address in active-passive mode, else every
 * load balancer. With a `tls:` section over HTTPS for the domain (module `https_site`), which also
 * yields the certificate's expiry (probe_ssl_earliest_cert_expiry).
 */
export function probeTargets(inv: Inventory): Target[] {
  const url = (address: string) => (inv.tls ? `https://${address}/` : `http://${address}:${HTTP_PORT}/`);
  const failover = inv.lb.failover;
  if (failover) return [{ address: url(failover.vip), host: 'vip' }];
  return inv.hosts.filter((h) => hasRole(h, 'lb')).map((h) => ({ address: url(h.address), host: h.name }));
}

/** The blackbox module the site probe uses (blackbox.yml.ejs). */
export const probeModule = (inv: Inventory): 'https_site' | 'http_2xx' => (inv.tls ? 'https_site' : 'http_2xx');

const on = (hosts: HostSpec[], port: number): Target[] => hosts.map((h) => ({ address: `${h.address}:${port}`, host: h.name }));

/** The jobs of the Prometheus on `self` (a monitor host): every host's exporters, and itself. */
export function scrapeJobs(inv: Inventory, self: HostSpec): ScrapeJob[] {
  const web = inv.hosts.filter((h) => hasRole(h, 'web'));
  return [
    { name: 'node', metricsPath: '/metrics', targets: on(inv.hosts, NODE_EXPORTER_PORT) },
    { name: 'mysqld', metricsPath: '/metrics', targets: on(inv.hosts.filter(isDbHost), MYSQLD_EXPORTER_PORT) },
    { name: 'nginx', metricsPath: '/metrics', targets: on(web, NGINX_EXPORTER_PORT) },
    // The app's own metrics, through the host's Nginx (which serves /metrics to monitor hosts only).
    { name: 'app', metricsPath: '/metrics', targets: on(inv.hosts.filter(servesAppMetrics), NGINX_PORT) },
    { name: 'haproxy', metricsPath: '/metrics', targets: on(inv.hosts.filter((h) => hasRole(h, 'lb')), HAPROXY_METRICS_PORT) },
    { name: 'probe', metricsPath: '/probe', targets: probeTargets(inv) },
    { name: 'prometheus', metricsPath: '/metrics', targets: [{ address: `127.0.0.1:${PROMETHEUS_PORT}`, host: self.name }] },
    { name: 'alertmanager', metricsPath: '/metrics', targets: [{ address: `127.0.0.1:${ALERTMANAGER_PORT}`, host: self.name }] },
  ].filter((j) => j.targets.length > 0) as ScrapeJob[];
}

/** How many targets the Prometheus on `self` must report up. */
export const expectedTargetCount = (inv: Inventory, self: HostSpec): number => scrapeJobs(inv, self).reduce((n, j) => n + j.targets.length, 0);
