// The inventory's schema: the one place that says what a valid file looks like.
import { z } from 'zod';
import { LAB_RELEASES, ROLES } from './types.ts';

const hostName = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const ipv4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const hostnameAddress = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/;

const role = z.string({ error: 'must be a role name' }).refine((r) => (ROLES as readonly string[]).includes(r), {
  error: (iss) => `unknown role ${JSON.stringify(iss.input)} (expected one of ${ROLES.join(', ')})`,
});

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
  }),
  hosts: z
    .record(
      z.string().regex(hostName, 'host names are lower-case letters, digits and dashes'),
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
      name: z.string().regex(/^[a-zA-Z0-9_]+$/, 'must be letters, digits and underscores').default('app'),
      user: z.string().regex(/^[a-zA-Z0-9_]+$/, 'must be letters, digits and underscores').default('app'),
      engine: z.enum(['mariadb', 'mysql'], {
        error: (iss) => `unknown engine ${JSON.stringify(iss.input)} (expected mariadb or mysql)`,
      }).default('mariadb'),
    })
    .default({ name: 'app', user: 'app', engine: 'mariadb' }),
  apt: z
    .strictObject({
      proxy: z.url({ error: 'must be a URL such as http://10.0.0.1:3142' }).optional(),
      cache_valid: z.number({ error: 'must be a number of seconds' }).int().min(0).default(3600),
    })
    .default({ cache_valid: 3600 }),
  timezone: z.string().regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/, 'must be a time zone such as Etc/UTC').default('Etc/UTC'),
  secrets: z.string({ error: 'must be a path' }).optional(),
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
});

export type RawInventory = z.infer<typeof inventorySchema>;
