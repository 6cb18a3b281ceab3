// A database server's own certificate, from tandem's private CA: for its address and name,
// replaced when missing, not signed by the CA, for other names, or within RENEW_DAYS of expiry.
// Pure: the new key and certificate are made when the writes run (once per host and run).
import { certificateFact, type CertificateState } from '../facts/certificate.ts';
import type { Change, Op } from '../engine/types.ts';
import type { Secret } from '../secrets/secret.ts';
import { signedBy } from '../tls/private-ca.ts';

const DAY_MS = 86_400_000;
export const RENEW_DAYS = 30;

export interface ServerCertArgs {
  server: { name: string; address: string };
  caPem: string;
  certPath: string;
  keyPath: string;
  /** The account the server runs as: it alone reads the key. */
  owner: string;
  now: Date;
  /** Makes the key and certificate (called once, when the writes run). */
  issue: () => Promise<{ certPem: string; key: Secret }>;
  notify?: string[];
}

/** Pure: why the server's certificate must be replaced, or undefined. */
export function serverCertReason(args: Pick<ServerCertArgs, 'server' | 'caPem' | 'now'>, have: CertificateState): string | undefined {
  if (!have.present || !have.pem) return 'issue';
  if (!signedBy(have.pem, args.caPem)) return `replace (not signed by tandem's CA: ${have.issuer})`;
  const wanted = [args.server.name, args.server.address];
  const has = [...have.names, ...(have.ips ?? [])];
  if (!wanted.every((n) => has.includes(n))) return `replace (for ${has.join(', ')}, not ${wanted.join(', ')})`;
  if ((Date.parse(have.notAfter!) - args.now.getTime()) / DAY_MS < RENEW_DAYS) return `renew (expires ${have.notAfter!.slice(0, 10)})`;
  return undefined;
}

export function serverCertificate(args: ServerCertArgs): Op {
  const fact = certificateFact(args.certPath);
  let made: Promise<{ certPem: string; key: Secret }> | undefined;
  const once = () => (made ??= args.issue());
  return {
    id: `server certificate ${args.certPath}`,
    facts: [fact],
    notify: args.notify,
    plan(f): Change | null {
      const reason = serverCertReason(args, f.get(fact));
      if (!reason) return null;
      const backup = (args.notify ?? []).length > 0;
      return {
        summary: `TLS certificate of ${args.server.name} (${args.server.address}) from tandem's CA: ${reason}`,
        commands: [
          // The key first: the certificate on disk always has its key beside it.
          { kind: 'put', path: args.keyPath, content: async () => (await once()).key, mode: '0600', owner: args.owner, group: args.owner, backup },
          { kind: 'put', path: args.certPath, content: async () => (await once()).certPem, mode: '0644', owner: 'root', group: 'root', backup },
        ],
        invalidates: [fact.id],
      };
    },
  };
}
