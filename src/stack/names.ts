// The stack's shared names: where things live on a server, the ports, services and accounts.
// Recipes write them; deploy, verify and status read them: one definition for all of them.

/** The app: releases under APP_ROOT/releases, `current` and `previous` links beside them. */
export const APP_ROOT = '/srv/app';
export const APP_RELEASES = `${APP_ROOT}/releases`;
export const APP_CURRENT = `${APP_ROOT}/current`;
/** The release that was live before `current`: what `rollback` goes back to. */
export const APP_PREVIOUS = `${APP_ROOT}/previous`;
export const APP_USER = 'tandem-app';
export const APP_SERVICE = 'tandem-app';
export const APP_ENV_FILE = '/etc/tandem/app.env';

export const NGINX_PORT = 8080;
export const NGINX_SITE = '/etc/nginx/sites-enabled/tandem.conf';

export const HAPROXY_CONFIG = '/etc/haproxy/haproxy.cfg';
/** The runtime API (drain, ready, show stat). */
export const HAPROXY_SOCKET = '/run/haproxy/admin.sock';
export const HAPROXY_BACKEND = 'web';
/** The stats page, on localhost only. */
export const HAPROXY_STATS_PORT = 8404;
/** The frontend's port, on every address (so also on an active-passive shared address). */
export const HTTP_PORT = 80;
/** The TLS frontend on lb hosts (when the inventory has a `tls` section). */
export const HTTPS_PORT = 443;
/** What HAProxy serves on :443: the certificate chain, then its key (0600). */
export const HAPROXY_CERT = '/etc/haproxy/tls/site.pem';
/** Nginx serves /.well-known/acme-challenge/ from here on web hosts (ACME http-01 tokens). */
export const ACME_WEBROOT = '/var/lib/tandem/acme';
export const ACME_CHALLENGE_PATH = '/.well-known/acme-challenge/';

export const KEEPALIVED_CONFIG = '/etc/keepalived/keepalived.conf';

export const MYSQL_PORT = 3306;
/** The verifier's own database and account (the canary table lives there). */
export const VERIFY_DB = 'tandem';
export const VERIFY_USER = 'tandem_verify';
export const REPLICATION_USER = 'tandem_repl';
/**
 * TLS between the servers (MariaDB): tandem's private CA on every db and app host; each db
 * server's certificate and key (the key 0600, the database server's user).
 */
export const SERVER_TLS_DIR = '/etc/tandem/tls';
export const DB_CA_FILE = `${SERVER_TLS_DIR}/db-ca.pem`;
export const DB_CERT_FILE = `${SERVER_TLS_DIR}/db-server.pem`;
export const DB_KEY_FILE = `${SERVER_TLS_DIR}/db-server.key`;

/**
 * Monitoring (the `monitor` role). Exporters listen on the host's inventory address only; the
 * firewall opens them to the monitoring hosts only. Prometheus and Alertmanager listen on the
 * monitoring host's loopback: users reach them through `tandem monitor`'s SSH tunnel.
 */
export const NODE_EXPORTER_PORT = 9100;
/** On db hosts. */
export const MYSQLD_EXPORTER_PORT = 9104;
/** On web hosts: Nginx's stub_status through prometheus-nginx-exporter. */
export const NGINX_EXPORTER_PORT = 9113;
/** On lb hosts: HAProxy's built-in Prometheus exporter. */
export const HAPROXY_METRICS_PORT = 8405;
/** On monitor hosts (loopback). */
export const PROMETHEUS_PORT = 9090;
export const ALERTMANAGER_PORT = 9093;
export const BLACKBOX_EXPORTER_PORT = 9115;

/**
 * Which database servers the app uses (primary and local), apart from app.env: `promote` rewrites
 * it and signals the app (SIGHUP), which then opens new connections there without a restart.
 */
export const APP_DB_FILE = '/etc/tandem/app-db.env';
