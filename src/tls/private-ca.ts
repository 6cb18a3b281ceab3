// tandem's private CA for the servers' own TLS (the databases): made on the first apply, kept
// beside the secrets store (<store>.d/db-ca.pem: its certificate and key, 0600), and used to
// give each database server a certificate for its address and name.
import { webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import type * as X509 from '@peculiar/x509';
import { Secret } from '../secrets/secret.ts';
import { keyFilePath, loadOrCreateKey, readKey } from '../secrets/key-file.ts';
import { SecretsError } from '../errors.ts';
import { commonJsExports } from '../commonjs.ts';

/**
 * @peculiar/x509 takes 0.4-0.5 s to load (measured), more than a whole no-op apply: it is loaded
 * only to make the CA or a certificate, which a run that changes nothing never does.
 */
async function x509lib(): Promise<typeof X509> {
  const x509 = commonJsExports(await import('@peculiar/x509'));
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  return x509;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
export const DB_CA_KEY = 'db-ca';
/** A server certificate lasts this long; apply replaces one with less than RENEW_DAYS left. */
export const SERVER_CERT_DAYS = 825;

export interface PrivateCa {
  certPem: string;
  key: Secret;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.trim()}\n-----END ${label}-----\n`;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

async function privatePem(keys: CryptoKeyPair): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey));
}

/** A new CA: its certificate then its key, as one PEM text. */
export async function newCaPem(name: string, now = new Date()): Promise<string> {
  const x509 = await x509lib();
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 3650 * DAY_MS),
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return cert.toString('pem') + '\n' + (await privatePem(keys));
}

/** Pure: the CA's certificate and key from its stored PEM text. */
export function parseCa(text: string, file: string): PrivateCa {
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(text)?.[0];
  if (!cert || !key) throw new SecretsError(`${file}: must hold the CA's certificate and its private key (PEM); remove it to have a new CA made (every database server then gets a new certificate)`);
  return { certPem: `${cert}\n`, key: new Secret(`${key}\n`) };
}

/**
 * The CA of this inventory's secrets store. `create`: made and written (0600) when missing;
 * without it (plan), one is made in memory only, so plan writes nothing.
 */
export async function loadPrivateCa(secretsFile: string, name: string, create: boolean): Promise<PrivateCa> {
  const file = keyFilePath(secretsFile, DB_CA_KEY);
  if (!create) return parseCa((await readKey(file))?.reveal() ?? (await newCaPem(name)), file);
  return parseCa((await loadOrCreateKey(file, () => newCaPem(name))).reveal(), file);
}

async function importCaKey(ca: PrivateCa): Promise<CryptoKey> {
  const der = Buffer.from(ca.key.reveal().replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return (await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign'])) as unknown as CryptoKey;
}

/** A server certificate (for its address and name, server and client use) and its new key, signed by the CA. */
export async function issueServerCert(ca: PrivateCa, server: { name: string; address: string }, now = new Date()): Promise<{ certPem: string; key: Secret }> {
  const x509 = await x509lib();
  const keys = await newKeys();
  const caCert = new x509.X509Certificate(ca.certPem);
  const isIp = /^\d+\.\d+\.\d+\.\d+$/.test(server.address);
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${server.name}`,
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: await importCaKey(ca),
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + SERVER_CERT_DAYS * DAY_MS),
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: server.name },
        ...(isIp ? [{ type: 'ip' as const, value: server.address }] : [{ type: 'dns' as const, value: server.address }]),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', key: new Secret(await privatePem(keys)) };
}

/** Pure: whether `certPem` was signed by the CA (node's own check). */
export function signedBy(certPem: string, caPem: string): boolean {
  try {
    return new NodeX509(certPem).verify(new NodeX509(caPem).publicKey);
  } catch {
    return false;
  }
}
