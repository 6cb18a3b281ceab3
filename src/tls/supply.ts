// What the load balancers' certificate op needs from the control machine: what counts as the
// right certificate, and the PEM to write when one is due (read from tls.files, or ordered from
// the ACME CA when the write runs, once per run).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { HostSpec, Inventory } from '../inventory/types.ts';
import type { Connection } from '../ssh/connection.ts';
import type { Redactor } from '../secrets/secret.ts';
import { Secret } from '../secrets/secret.ts';
import { keyFilePath } from '../secrets/key-file.ts';
import type { DeferredContent } from '../engine/types.ts';
import type { CertificateWant } from '../ops/certificate.ts';
import { InputError } from '../errors.ts';
import { serverTlsOn } from './settings.ts';
import { hasRole } from '../stack/roles.ts';
import { acmeIssuer } from './issuer.ts';
import { loadPrivateCa, type PrivateCa } from './private-ca.ts';

/**
 * TLS between the servers: MariaDB's (MySQL 8 keeps its own defaults). The CA is written beside
 * the secrets store by apply; plan makes one in memory when there is none yet.
 */
export async function serverTlsOf(inventory: Inventory, opts: { create: boolean; now: Date }): Promise<{ ca: PrivateCa; now: Date } | undefined> {
  if (!serverTlsOn(inventory)) return undefined;
  return { ca: await loadPrivateCa(inventory.secretsFile, `tandem ${inventory.name} server CA`, opts.create), now: opts.now };
}

export interface CertificateSupply {
  want: CertificateWant;
  content: DeferredContent;
  /** The time the op decides renewals at. */
  now: Date;
}

export const ACME_ACCOUNT_KEY = 'acme-account';

/** Pure: the user's certificate and key checked (a certificate, the key that goes with it); the PEM HAProxy reads. */
export function filesPem(certPem: string, keyPem: string, shown: { cert: string; key: string }): { fingerprint: string; pem: Secret } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new InputError(`tls.files.cert: ${shown.cert} is not a PEM certificate`, { cause: err });
  }
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch (err) {
    throw new InputError(`tls.files.key: ${shown.key} is not a PEM private key`, { cause: err });
  }
  if (!matches) throw new InputError(`tls.files.key: ${shown.key} is not the key of ${shown.cert}`);
  return { fingerprint: cert.fingerprint256, pem: new Secret(`${certPem.trim()}\n${keyPem.trim()}\n`) };
}

export async function certificateSupply(
  inventory: Inventory,
  session: { connect(host: HostSpec): Promise<Connection>; redactor: Redactor; failedInRun?: (host: string) => boolean },
  now: Date,
): Promise<CertificateSupply | undefined> {
  const tls = inventory.tls;
  if (!tls) return undefined;
  const s = tls.source;
  if (s.kind === 'files') {
    const { fingerprint, pem } = filesPem(await readFile(s.cert, 'utf8'), await readFile(s.key, 'utf8'), s);
    return { want: { kind: 'files', fingerprint }, content: async () => pem, now };
  }
  const content = acmeIssuer({
    source: s,
    domain: inventory.domain,
    accountKeyFile: keyFilePath(inventory.secretsFile, ACME_ACCOUNT_KEY),
    webHosts: inventory.hosts.filter((h) => hasRole(h, 'web')),
    lbHosts: inventory.hosts.filter((h) => hasRole(h, 'lb')),
    connect: (h) => session.connect(h),
    redactor: session.redactor,
    failedInRun: session.failedInRun,
  });
  return { want: { kind: 'acme', renewBeforeDays: s.renewBeforeDays }, content, now };
}
