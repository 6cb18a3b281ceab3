// The certificate a load balancer serves: only the certificates of its PEM file are read (never
// its key), and parsed on the control machine.
import { X509Certificate } from 'node:crypto';
import { sh } from '../ssh/shell.ts';
import type { Fact } from '../engine/types.ts';

export interface CertificateState {
  present: boolean;
  /** DNS names of the subjectAltName (the leaf's). */
  names: string[];
  /** IP addresses of the subjectAltName. */
  ips?: string[];
  /** The leaf itself (PEM), to check who signed it. */
  pem?: string;
  /** ISO time. */
  notAfter?: string;
  issuer?: string;
  /** SHA-256 of the leaf, to tell whether two hosts serve the same certificate. */
  fingerprint?: string;
  /** Issued to itself: the placeholder HAProxy starts with until the CA's certificate arrives. */
  selfSigned?: boolean;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Pure: the leaf (first certificate) of a PEM text, or "absent" when there is none or it does not parse. */
export function parseCertificate(stdout: string, exitCode: number): CertificateState {
  const leaf = exitCode === 0 ? stdout.match(PEM_CERT)?.[0] : undefined;
  if (!leaf) return { present: false, names: [] };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(leaf);
  } catch {
    return { present: false, names: [] };
  }
  const san = (cert.subjectAltName ?? '').split(', ');
  const names = san.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4));
  const ips = san.filter((n) => n.startsWith('IP Address:')).map((n) => n.slice('IP Address:'.length));
  return {
    present: true,
    names,
    ips,
    pem: leaf,
    notAfter: new Date(cert.validTo).toISOString(),
    issuer: cert.issuer.replace(/\n/g, ', '),
    fingerprint: cert.fingerprint256,
    selfSigned: cert.issuer === cert.subject,
  };
}

export function certificateFact(path: string): Fact<CertificateState> {
  return {
    id: `certificate:${path}`,
    // sed prints the certificate blocks only: the private key in the same file stays on the host.
    script: sh`[ -f ${path} ] || exit 1\nsed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' ${path}`,
    parse: parseCertificate,
  };
}
