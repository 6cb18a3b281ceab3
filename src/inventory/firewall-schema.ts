// The inventory's `firewall:` section (docs/inventory.md): who may reach SSH, the user's own extra
// rules, and how long a new ruleset waits for its confirmation before it is rolled back.
import { z } from 'zod';
import { ANY, sourceProblem } from '../firewall/address.ts';

const source = z.string({ error: 'must be an address or network, such as 10.0.0.5 or 192.168.1.0/24' }).superRefine((value, ctx) => {
  const why = sourceProblem(value);
  if (why) ctx.addIssue({ code: 'custom', message: why });
});

const allowSource = z.string({ error: 'must be an address or network, such as 10.0.0.5 or 192.168.1.0/24, or any' }).superRefine((value, ctx) => {
  const why = value === ANY ? undefined : sourceProblem(value);
  if (why) ctx.addIssue({ code: 'custom', message: `${why}, or any` });
});

const allowRule = z.strictObject({
  port: z.number({ error: 'must be a port number (1-65535)' }).int('must be a port number (1-65535)').min(1, 'must be a port number (1-65535)').max(65535, 'must be a port number (1-65535)'),
  protocol: z.enum(['tcp', 'udp'], { error: (iss) => `unknown protocol ${JSON.stringify(iss.input)} (expected tcp or udp)` }).default('tcp'),
  from: z
    .array(allowSource, { error: 'must be a list of addresses or networks, such as [10.0.0.0/8], or [any]' })
    .min(1, 'must name at least one address or network, or [any]'),
});

export const ROLLBACK_SECONDS = 30;

export const firewallSchema = z
  .strictObject({
    enabled: z.boolean({ error: 'must be true or false' }).default(true),
    // Unset: the address this machine connects from, as each server sees it.
    admin: z
      .array(source, { error: 'must be a list of addresses or networks, such as [10.0.0.5, 192.168.1.0/24]' })
      .min(1, 'must name at least one address or network (or leave admin out: the address this machine connects from)')
      .optional(),
    allow: z.array(allowRule, { error: 'must be a list of rules { port, protocol, from }' }).default([]),
    // Long enough for a new SSH connection to be opened through the new rules on a slow link.
    rollback_after: z
      .number({ error: 'must be a whole number of seconds' })
      .int('must be a whole number of seconds')
      .min(10, 'must be at least 10 seconds')
      .max(600, 'must be at most 600 seconds')
      .default(ROLLBACK_SECONDS),
  })
  .default({ enabled: true, allow: [], rollback_after: ROLLBACK_SECONDS });
