// The validated inventory: typed accessors produced once at load (see load.ts).
import type { MonitorSettings } from './monitor-schema.ts';
// monitor: Prometheus, Alertmanager and the site probe (issue 12); exporters go on every host.
export const ROLES = ['lb', 'web', 'app', 'db-primary', 'db-replica', 'monitor'] as const;
export type Role = (typeof ROLES)[number];

/** The Debian releases the lab can build servers of; the first is the default. */
export const LAB_RELEASES = ['trixie', 'bookworm'] as const;
export type LabRelease = (typeof LAB_RELEASES)[number];

/**
 * Servers worked on at once when the inventory says nothing. Each costs the control process one
 * SSH connection (a socket, its buffers, a key exchange) and, on a first run, one upload of the
 * release and one apt download through the same mirror. 20 runs the shipped 16-server lab and
 * most small fleets in one wave per phase (a second wave would double a no-op run's time), while
 * a fleet of hundreds does not open hundreds of connections and uploads at the same moment.
 */
export const DEFAULT_PARALLEL = 20;

export interface HostSpec {
  name: string;
  address: string;
  port: number;
  roles: Role[];
}

export interface SshSettings {
  user: string;
  /** Absolute path of the private key. */
  key: string;
  /** Absolute path of the pinned known_hosts file. */
  knownHosts: string;
  connectTimeoutMs: number;
  /** ssh.command_timeout: the deadline of every remote command; unset, the defaults per kind apply. */
  commandTimeoutSeconds?: number;
}

export interface LabSettings {
  bridge: string;
  /** Bridge address with prefix, e.g. 10.77.0.1/24; apt's proxy listens here. */
  gateway: string;
  /** Where the cached Debian base image lives (outside the checkout). */
  cacheDir: string;
  /** Absolute path of the lab's state folder (SSH key, overlays, pids). */
  stateDir: string;
  /** The Debian release of the lab's servers... */
  release: LabRelease;
  /** ...except these, by host name (a mixed fleet). */
  hostReleases: Record<string, LabRelease>;
}

/** active-passive: the virtual address keepalived keeps on one healthy load balancer. */
export interface Failover {
  vip: string;
  prefix: number;
  interface: string;
  routerId: number;
}

export interface Inventory {
  /** Absolute path of the inventory file. */
  file: string;
  name: string;
  domain: string;
  ssh: SshSettings;
  hosts: HostSpec[];
  lb: {
    algorithm: 'roundrobin' | 'leastconn' | 'source';
    mode: 'active-active' | 'active-passive';
    /** Present exactly when mode is active-passive. */
    failover?: Failover;
  };
  /** entry: the file the unit runs with node, relative to the release. */
  app: { source: string; port: number; keepReleases: number; entry: string };
  /** maxReplicaLagSeconds: a replica further behind serves no reads and fails verify. */
  /**
   * semiSyncTimeoutMs: how long a commit waits for a replica before semi-sync falls back to async.
   * fenced: former primaries that must never take writes until `tandem rejoin` brings them back.
   */
  db: { name: string; user: string; engine: 'mariadb' | 'mysql'; maxReplicaLagSeconds: number; semiSyncTimeoutMs: number; fenced: string[] };
  /** lockWaitSeconds: how long apt/dpkg commands wait for another process's dpkg lock. */
  apt: { proxy?: string; cacheValidSeconds: number; lockWaitSeconds: number };
  timezone: string;
  /** Absolute path of the 0600 secrets file beside the inventory. */
  secretsFile: string;
  /** How many servers plan and apply work on at once. */
  parallel: number;
  /** The firewall tandem keeps on every host (docs/firewall.md). */
  firewall: FirewallSettings;
  /** Prometheus, the alert rules' thresholds and Alertmanager's receivers (monitor-schema.ts). */
  monitor: MonitorSettings;
  lab?: LabSettings;
  /** HTTPS on the load balancers; absent: plain HTTP on :80 as before. */
  tls?: TlsSettings;
}

/** Where the load balancers' certificate comes from: an ACME CA, or files the user has. */
export type CertificateSource =
  | { kind: 'acme'; directory: string; email: string; caBundle?: string; renewBeforeDays: number }
  | { kind: 'files'; cert: string; key: string };

export interface TlsSettings {
  source: CertificateSource;
  hstsMaxAgeSeconds: number;
  /** verify fails when the served certificate expires within this many days. */
  minDaysLeft: number;
  /** The CA the served chain is checked against (absent: the system's CAs). */
  caFile?: string;
}

/** `firewall:`: sources are validated addresses or networks (`any` only in allow rules' `from`). */
export interface FirewallSettings {
  enabled: boolean;
  /** Who may reach SSH; unset: the address this machine connects from, as each server sees it. */
  admin?: string[];
  allow: { port: number; protocol: 'tcp' | 'udp'; from: string[] }[];
  /** A new ruleset not confirmed by a new SSH connection within this many seconds is rolled back. */
  rollbackSeconds: number;
}
