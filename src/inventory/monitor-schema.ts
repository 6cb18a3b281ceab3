// The inventory's `monitor:` section: how Prometheus scrapes and keeps data, the thresholds of
// the alert rules, and where Alertmanager delivers (webhooks, email). Every field has a default,
// so an inventory without the section gets the conventional setup and no receiver.
import { z } from 'zod';

const seconds = (what: string, min: number, max: number) =>
  z
    .number({ error: `must be a whole number of seconds (${what})` })
    .int(`must be a whole number of seconds (${what})`)
    .min(min, `must be at least ${min} seconds`)
    .max(max, `must be at most ${max} seconds`);

/** http(s)://host[:port][/path]: Alertmanager posts there; no user, password or fragment in it. */
export function webhookProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL such as http://10.0.0.5:8080/alerts';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http:// or https:// URL';
  if (url.username || url.password) return 'must not hold a user or password (put credentials behind the receiver, not in the URL)';
  if (url.hash) return 'must not have a #fragment';
  // Control characters and spaces would not survive the YAML file or the HTTP request line.
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return 'must not hold spaces or control characters';
  return undefined;
}

const address = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const email = z.string({ error: 'must be an email address' }).regex(address, 'must be an email address such as ops@example.com');

export const monitorSchema = z
  .strictObject({
    // Prometheus's --storage.tsdb.retention.time: a number and a unit (h, d, w, y).
    retention: z.string({ error: 'must be a duration such as 15d' }).regex(/^[1-9]\d{0,4}[hdwy]$/, 'must be a whole number and a unit h, d, w or y, such as 15d').default('15d'),
    scrape_interval: seconds('how often every target is scraped', 1, 300).default(15),
    // How long a condition must hold before its alert fires (each rule's `for:`).
    alert_after: seconds('how long a condition holds before its alert fires', 0, 3600).default(30),
    replica_lag: seconds('the replica lag that raises an alert', 1, 86400).default(30),
    error_ratio: z.number({ error: 'must be a share between 0 and 1, such as 0.05' }).gt(0, 'must be above 0').max(1, 'must be at most 1').default(0.05),
    disk_full_percent: z.number({ error: 'must be a percentage' }).gt(0, 'must be above 0').max(100, 'must be at most 100').default(85),
    cert_expiry_days: z.number({ error: 'must be a whole number of days' }).int('must be a whole number of days').min(1, 'must be at least 1 day').default(14),
    webhooks: z
      .array(z.string({ error: 'must be a URL' }).superRefine((v, ctx) => {
        const why = webhookProblem(v);
        if (why) ctx.addIssue({ code: 'custom', message: why });
      }), { error: 'must be a list of URLs' })
      .default([]),
    // The SMTP password, when the server wants one, is the secret smtp_password (never here).
    email: z
      .strictObject({
        smarthost: z.string({ error: 'must be host:port' }).regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:\d{1,5}$/, 'must be host:port, such as smtp.example.com:587'),
        from: email,
        to: z.array(email, { error: 'must be a list of email addresses' }).min(1, 'needs at least one address'),
        username: z.string({ error: 'must be a user name' }).min(1).regex(/^[^\u0000-\u001f\u007f]+$/, 'must not hold control characters').optional(),
        require_tls: z.boolean({ error: 'must be true or false' }).default(true),
      })
      .optional(),
  })
  .default({ retention: '15d', scrape_interval: 15, alert_after: 30, replica_lag: 30, error_ratio: 0.05, disk_full_percent: 85, cert_expiry_days: 14, webhooks: [] });

export type RawMonitor = z.infer<typeof monitorSchema>;

export interface MonitorSettings {
  retention: string;
  scrapeIntervalSeconds: number;
  alertAfterSeconds: number;
  replicaLagSeconds: number;
  errorRatio: number;
  diskFullPercent: number;
  certExpiryDays: number;
  webhooks: string[];
  email?: { smarthost: string; from: string; to: string[]; username?: string; requireTls: boolean };
}

export function toMonitor(raw: RawMonitor): MonitorSettings {
  return {
    retention: raw.retention,
    scrapeIntervalSeconds: raw.scrape_interval,
    alertAfterSeconds: raw.alert_after,
    replicaLagSeconds: raw.replica_lag,
    errorRatio: raw.error_ratio,
    diskFullPercent: raw.disk_full_percent,
    certExpiryDays: raw.cert_expiry_days,
    webhooks: raw.webhooks,
    ...(raw.email && {
      email: { smarthost: raw.email.smarthost, from: raw.email.from, to: raw.email.to, ...(raw.email.username !== undefined && { username: raw.email.username }), requireTls: raw.email.require_tls },
    }),
  };
}
