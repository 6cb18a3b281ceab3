// The load balancers' HTTPS as a client sees it: a handshake for the domain (SNI) against the
// configured CA, offering h2 and http/1.1 (ALPN); and what plain HTTP answers.
import tls from 'node:tls';
import type { Site } from './http.ts';
import { HTTPS_PORT } from '../stack/names.ts';

export interface TlsAnswer {
  /** The chain is valid against the CA and names the domain. */
  authorized: boolean;
  authorizationError?: string;
  /** The protocol ALPN chose (false: none). */
  alpn: string | false;
  /** TLSv1.2, TLSv1.3. */
  protocol: string | null;
  names: string[];
  notAfter: string;
  issuer: string;
  cipher: string;
  handshakeMs: number;
}

/** One TLS handshake with the load balancer at `address`; resolves whether or not the chain is trusted. */
export function tlsHandshake(site: Site, address: string, opts: { timeoutMs?: number; maxVersion?: tls.SecureVersion; minVersion?: tls.SecureVersion } = {}): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = tls.connect({
      host: address,
      port: HTTPS_PORT,
      servername: site.domain,
      ca: site.tls?.ca,
      ALPNProtocols: ['h2', 'http/1.1'],
      rejectUnauthorized: false,
      ...(opts.maxVersion && { maxVersion: opts.maxVersion }),
      ...(opts.minVersion && { minVersion: opts.minVersion }),
      timeout: opts.timeoutMs ?? 5000,
    });
    socket.once('secureConnect', () => {
      const handshakeMs = performance.now() - t0;
      const cert = socket.getPeerCertificate();
      const names = (cert.subjectaltname ?? '').split(', ').filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4));
      resolve({
        authorized: socket.authorized,
        ...(socket.authorizationError && { authorizationError: String(socket.authorizationError) }),
        alpn: socket.alpnProtocol ?? false,
        protocol: socket.getProtocol(),
        names,
        notAfter: new Date(cert.valid_to).toISOString(),
        issuer: Object.entries(cert.issuer ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(', '),
        cipher: socket.getCipher().name,
        handshakeMs,
      });
      socket.end();
    });
    socket.once('timeout', () => socket.destroy(new Error(`no TLS handshake within ${opts.timeoutMs ?? 5000} ms`)));
    socket.once('error', reject);
  });
}

const DAY_MS = 86_400_000;

/** Pure: the verdict on one handshake. */
export function judgeHandshake(a: TlsAnswer, domain: string, minDaysLeft: number, now: Date): { ok: boolean; figure: string; detail?: string } {
  const days = Math.floor((Date.parse(a.notAfter) - now.getTime()) / DAY_MS);
  const problems = [
    !a.authorized && `chain not trusted: ${a.authorizationError ?? 'unknown reason'}`,
    !a.names.includes(domain) && `the certificate names ${a.names.join(', ') || 'nothing'}, not ${domain}`,
    days < minDaysLeft && `expires in ${days} days (under ${minDaysLeft})`,
    a.alpn !== 'h2' && `HTTP/2 not offered (ALPN chose ${a.alpn || 'nothing'})`,
  ].filter((p): p is string => typeof p === 'string');
  return {
    ok: problems.length === 0,
    figure: `${a.protocol}, ${a.alpn || 'no ALPN'}, expires ${a.notAfter.slice(0, 10)} (${days} days), handshake ${a.handshakeMs.toFixed(0)} ms`,
    ...(problems.length && { detail: problems.join('; ') }),
  };
}
