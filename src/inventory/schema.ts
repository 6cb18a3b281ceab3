// The inventory's schema: the one place that says what a valid file looks like.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_PARALLEL, LAB_RELEASES, ROLES } from './types.ts';
import { reservedAccount, reservedSchema } from './reserved.ts';
import { firewallSchema } from './firewall-schema.ts';
import { tlsSchema } from './tls-schema.ts';
import { monitorSchema } from './monitor-schema.ts';

const hostName = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const ipv4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const hostnameAddress = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/;

const role = z.string({ error: 'must be a role name' }).refine((r) => (ROLES as readonly string[]).includes(r), {
  error: (iss) => `unknown role ${JSON.stringify(iss.input)} (expected one of ${ROLES.join(', ')})`,
});

/** apt writes the proxy into its own config: a bare http(s)://host[:port][/], nothing that could end the value. */
export function isAptProxyUrl(url: string): boolean {
  const m = /^https?:\/\/([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?\/?$/.exec(url);
  if (!m) return false;
  const host = m[1]!;
  if (/^[\d.]+$/.test(host) && !ipv4.test(host)) return false;
  return m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 65535);
}

/** Where the control machine keeps its time zone files, when it has them (Linux, macOS). */
export const ZONEINFO = '/usr/share/zoneinfo';

/**
 * Time zones are checked here, not on the server: the name must be one this machine's time zone
 * database knows (Intl), spelled with its own capitals: /usr/share/zoneinfo is case-sensitive,
 * so where this machine has that folder, the zone's file must be there under this exact name.
 */
export function timeZoneProblem(zone: string, zoneinfo = ZONEINFO): string | undefined {
  let canonical: string;
  try {
    canonical = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return `unknown time zone ${JSON.stringify(zone)} (expected a name such as Etc/UTC or Europe/Paris)`;
  }
  if (canonical !== zone && canonical.toLowerCase() === zone.toLowerCase()) return `time zone names are case-sensitive: did you mean ${canonical}?`;
  if (existsSync(zoneinfo) && !statSync(path.join(zoneinfo, zone), { throwIfNoEntry: false })?.isFile()) {
    return `unknown time zone ${JSON.stringify(zone)}: there is no ${path.join(zoneinfo, zone)} on this machine (names are case-sensitive)`;
  }
  return undefined;
}

/** A check that returns why a value is refused (or nothing) as a zod refinement. */
const refuse = (why: (value: string) => string | undefined) => (value: string, ctx: z.RefinementCtx) => {
  const reason = why(value);
  if (reason) ctx.addIssue({ code: 'custom', message: reason });
};

/** A database or account name: plain letters, digits and underscores, and not one of the reserved. */
const sqlName = (what: string, max: number, reserved: (name: string) => string | undefined) =>
  z
    .string({ error: `must be ${what}` })
    .regex(/^[a-zA-Z0-9_]+$/, 'must be letters, digits and underscores')
    .max(max, `must be at most ${max} characters`)
    .superRefine(refuse(reserved));

const labRelease = z.enum(LAB_RELEASES, {
  error: (iss) => `unknown release ${JSON.stringify(iss.input)} (the lab builds ${LAB_RELEASES.join(' or ')})`,
});

const port = z.number({ error: 'must be a port number' }).int().min(1, 'must be a port number (1-65535)').max(65535, 'must be a port number (1-65535)');

const host = z.strictObject({
  address: z
    .string({ error: 'must be an IPv4 address or a host name' })
    .refine((a) => ipv4.test(a) || (hostnameAddress.test(a) && !/^[\d.]+$/.test(a)), {
      error: (iss) => `not an IPv4 address or host name: ${JSON.stringify(iss.input)}`,
    }),
  port: port.optional(),
  roles: z.array(role, { error: 'must be a list of roles' }).min(1, 'a host needs at least one role'),
});

export const inventorySchema = z.strictObject({
  name: z.string({ error: 'must be a string' }).regex(hostName, 'must be lower-case letters, digits and dashes'),
  domain: z.string({ error: 'must be a domain name' }).regex(hostnameAddress, 'must be a domain name'),
  ssh: z.strictObject({
    user: z.string({ error: 'must be a user name' }).min(1).default('root'),
    key: z.string({ error: 'must be the path of a private key file' }).min(1),
    port: port.default(22),
    known_hosts: z.string({ error: 'must be a path' }).optional(),
    connect_timeout: z.number({ error: 'must be a number of seconds' }).positive().default(10),
    // Unset: 60 s per command, 15 min for package installs, uploads and seeding a replica.
    command_timeout: z.number({ error: 'must be a number of seconds' }).int('must be a whole number of seconds').positive('must be a number of seconds above 0').optional(),
  }),
  hosts: z
    .record(
      z.string().regex(hostName, 'host names are lower-case letters, digits and dashes').max(63, 'host names are at most 63 characters'),
      host,
      { error: 'must be a map of host name to { address, roles }' },
    )
    .refine((h) => Object.keys(h).length > 0, 'at least one host is needed'),
  lb: z
    .strictObject({
      algorithm: z.enum(['roundrobin', 'leastconn', 'source'], {
        error: (iss) => `unknown algorithm ${JSON.stringify(iss.input)} (expected one of roundrobin, leastconn, source)`,
      }).default('roundrobin'),
      mode: z.enum(['active-active', 'active-passive'], {
        error: (iss) => `unknown mode ${JSON.stringify(iss.input)} (expected active-active or active-passive)`,
      }).default('active-active'),
      // active-passive: keepalived moves this address to a healthy load balancer.
      vip: z.string({ error: 'must be an address with prefix, such as 10.0.0.10/24' })
        .regex(/^(\d{1,3})(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an address with prefix, such as 10.0.0.10/24')
        .optional(),
      interface: z.string({ error: 'must be a network interface name such as eth0' })
        .regex(/^[a-zA-Z0-9_.-]{1,15}$/, 'must be a network interface name such as eth0')
        .optional(),
      router_id: z.number({ error: 'must be a whole number from 1 to 255' }).int('must be a whole number from 1 to 255')
        .min(1, 'must be a whole number from 1 to 255').max(255, 'must be a whole number from 1 to 255').default(51),
    })
    .default({ algorithm: 'roundrobin', mode: 'active-active', router_id: 51 }),
  app: z
    .strictObject({
      source: z.string().optional(),
      port: port.default(3000),
      keep_releases: z.number({ error: 'must be a whole number' }).int().min(2, 'must keep at least 2 releases').default(5),
      entry: z.string({ error: 'must be a path inside the release, such as src/server.js' })
        .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]+$/, 'must be a path inside the release, such as src/server.js')
        .default('src/server.js'),
    })
    .default({ port: 3000, keep_releases: 5, entry: 'src/server.js' }),
  db: z
    .strictObject({
      name: sqlName('a database name', 64, reservedSchema).default('app'),
      // 32: MySQL 8's limit for account names (MariaDB allows 80).
      user: sqlName('an account name', 32, reservedAccount).default('app'),
      engine: z.enum(['mariadb', 'mysql'], {
        error: (iss) => `unknown engine ${JSON.stringify(iss.input)} (expected mariadb or mysql)`,
      }).default('mariadb'),
      // A replica further behind than this leaves the load balancers and fails verify.
      max_replica_lag: z.number({ error: 'must be a whole number of seconds' }).int('must be a whole number of seconds')
        .min(1, 'must be at least 1 second').max(86400, 'must be at most 86400 seconds (a day)').default(10),
      // How long a commit waits for a replica's acknowledgement before the primary falls back to
      // asynchronous replication (then a failover can lose the commits of that stretch).
      semi_sync_timeout_ms: z.number({ error: 'must be a whole number of milliseconds' }).int('must be a whole number of milliseconds')
        .min(100, 'must be at least 100 ms').max(3_600_000, 'must be at most 3600000 ms (an hour)').default(5000),
      // Former primaries fenced by `promote --failover`, until `tandem rejoin` brings them back.
      fenced: z.array(z.string({ error: 'must be a host name' })).default([]),
    })
    .default({ name: 'app', user: 'app', engine: 'mariadb', max_replica_lag: 10, semi_sync_timeout_ms: 5000, fenced: [] }),
  apt: z
    .strictObject({
      proxy: z
        .string({ error: 'must be a URL such as http://10.0.0.1:3142' })
        .refine(isAptProxyUrl, 'must be http:// or https://, a host and an optional port, such as http://10.0.0.1:3142 (nothing else: no user, path, query, quote or space)')
        .optional(),
      cache_valid: z.number({ error: 'must be a number of seconds' }).int().min(0).default(3600),
      // How long an apt/dpkg command waits for another process's dpkg lock (said while it waits).
      lock_wait: z.number({ error: 'must be a number of seconds' }).int().min(1).max(3600).default(120),
    })
    .default({ cache_valid: 3600, lock_wait: 120 }),
  timezone: z
    .string({ error: 'must be a time zone such as Etc/UTC' })
    .regex(/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9][A-Za-z0-9_+-]*)*$/, 'must be a time zone such as Etc/UTC or Europe/Paris')
    .superRefine(refuse(timeZoneProblem))
    .default('Etc/UTC'),
  secrets: z.string({ error: 'must be a path' }).optional(),
  monitor: monitorSchema,
  // How many servers plan and apply work on at once (see DEFAULT_PARALLEL).
  parallel: z
    .number({ error: 'must be a whole number of servers, at least 1' })
    .int('must be a whole number of servers, at least 1')
    .min(1, 'must be a whole number of servers, at least 1')
    .default(DEFAULT_PARALLEL),
  firewall: firewallSchema,
  lab: z
    .strictObject({
      bridge: z.string().regex(/^[a-zA-Z0-9_-]{1,15}$/, 'must be an interface name (at most 15 characters)').default('tandem0'),
      gateway: z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, 'must be an address with prefix, such as 10.77.0.1/24').default('10.77.0.1/24'),
      cache: z.string().default('/var/cache/tandem'),
      state: z.string().default('.lab'),
      release: labRelease.default(LAB_RELEASES[0]),
      // Per-host settings of the lab's servers: so far, another release than lab.release.
      hosts: z.record(z.string(), z.strictObject({ release: labRelease }), { error: 'must be a map of host name to { release }' }).default({}),
    })
    .optional(),
  tls: tlsSchema,
});

export type RawInventory = z.infer<typeof inventorySchema>;
