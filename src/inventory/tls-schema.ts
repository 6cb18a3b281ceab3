// The inventory's `tls:` section: HTTPS on the load balancers, with a certificate from an ACME
// directory (Let's Encrypt, the lab's Pebble) or from files the user already has.
import { z } from 'zod';

const filePath = (what: string) => z.string({ error: `must be the path of ${what}` }).min(1, `must be the path of ${what}`);
const days = z.number({ error: 'must be a whole number of days' }).int('must be a whole number of days').min(1, 'must be at least 1 day');

const acme = z.strictObject({
  directory: z.url({ protocol: /^https$/, error: 'must be the https:// URL of an ACME directory, such as https://acme-v02.api.letsencrypt.org/directory' }),
  email: z.email({ error: 'must be an email address (the CA writes to it about expiring certificates)' }),
  // A CA bundle to trust the directory's own HTTPS with (the lab's Pebble); unset: the system's CAs.
  ca_bundle: filePath('a PEM file of CA certificates').optional(),
  renew_before: days.default(30),
});

const files = z.strictObject({
  cert: filePath('a PEM certificate (the chain, leaf first)'),
  key: filePath('the PEM private key of the certificate'),
});

export const tlsSchema = z
  .strictObject({
    acme: acme.optional(),
    files: files.optional(),
    // Strict-Transport-Security max-age, in seconds (a year by default).
    hsts_max_age: z.number({ error: 'must be a whole number of seconds' }).int('must be a whole number of seconds').min(0, 'must be 0 or more seconds').default(31536000),
    // The CA the served certificate chains to, when the system does not trust it (the lab's Pebble
    // root, a private CA): verify, the tests and the demo trust it. Unset: the system's CAs.
    ca: filePath('a PEM file of CA certificates').optional(),
    // verify fails when the certificate served expires sooner than this.
    min_days_left: days.default(14),
  })
  .refine((t) => (t.acme === undefined) !== (t.files === undefined), { error: 'needs exactly one of acme (a certificate from an ACME CA) or files (a certificate and key you have)' })
  .optional();

export type RawTls = z.infer<typeof tlsSchema>;
