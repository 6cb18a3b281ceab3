// The `tls:` section as the rest of tandem reads it: paths resolved beside the inventory.
import type { RawTls } from '../inventory/tls-schema.ts';
import type { Inventory, TlsSettings } from '../inventory/types.ts';
import type { PathField } from '../inventory/load.ts';

/** TLS between the servers: MariaDB's, with tandem's private CA (MySQL 8 keeps its own defaults). */
export const serverTlsOn = (inventory: Inventory): boolean => inventory.db.engine === 'mariadb';

export function tlsSettings(raw: NonNullable<RawTls>, resolve: (p: string) => string): TlsSettings {
  const source: TlsSettings['source'] = raw.acme
    ? {
        kind: 'acme',
        directory: raw.acme.directory,
        email: raw.acme.email,
        ...(raw.acme.ca_bundle !== undefined && { caBundle: resolve(raw.acme.ca_bundle) }),
        renewBeforeDays: raw.acme.renew_before,
      }
    : { kind: 'files', cert: resolve(raw.files!.cert), key: resolve(raw.files!.key) };
  return { source, hstsMaxAgeSeconds: raw.hsts_max_age, minDaysLeft: raw.min_days_left, ...(raw.ca !== undefined && { caFile: resolve(raw.ca) }) };
}

/** The files the section names, checked at load like the other paths. The CA bundle may not exist yet (the lab makes it at `lab up`): the issuer says so when it is used. */
export function tlsPathFields(tls: TlsSettings | undefined): PathField[] {
  const s = tls?.source;
  if (!s) return [];
  if (s.kind === 'files') {
    return [
      { field: 'tls.files.cert', path: s.cert, kind: 'file', required: true },
      { field: 'tls.files.key', path: s.key, kind: 'file', required: true },
    ];
  }
  return [
    ...(s.caBundle ? [{ field: 'tls.acme.ca_bundle', path: s.caBundle, kind: 'file' as const }] : []),
    ...(tls.caFile ? [{ field: 'tls.ca', path: tls.caFile, kind: 'file' as const }] : []),
  ];
}
