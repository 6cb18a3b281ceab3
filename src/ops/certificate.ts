// The load balancers' certificate: one PEM file (chain, then key, 0600) that HAProxy serves.
// Pure: from what every load balancer serves now, whether this one gets a new certificate and
// why, in words ("certificate for www.example.com: renew (expires 2027-01-03)"), never a diff.
// Every load balancer serves the same certificate: when one is due, all of them get the one the
// run obtains (src/tls/issuer.ts makes it once per run).
import { certificateFact, type CertificateState } from '../facts/certificate.ts';
import { peerFact } from '../engine/facts.ts';
import type { Change, DeferredContent, Op } from '../engine/types.ts';
import { sh } from '../ssh/shell.ts';

const DAY_MS = 86_400_000;

export type CertificateWant =
  /** A certificate from an ACME CA: any, for the domain, with more than renewBeforeDays left. */
  | { kind: 'acme'; renewBeforeDays: number }
  /** The user's certificate, told by its fingerprint. */
  | { kind: 'files'; fingerprint: string };

export interface CertificateArgs {
  domain: string;
  path: string;
  want: CertificateWant;
  /** The time decisions are made at (passed in: the op stays a function of its inputs). */
  now: Date;
  /** The other load balancers of the run, whose certificate must stay the same as this one's. */
  peers: string[];
  /** The PEM to write, obtained when the write runs. */
  content: DeferredContent;
  notify?: string[];
}

const day = (iso: string | undefined) => (iso ?? '').slice(0, 10);

/** Why this host's own certificate must be replaced, or undefined when it is good. */
export function ownReason(args: Pick<CertificateArgs, 'domain' | 'want' | 'now'>, have: CertificateState): string | undefined {
  if (args.want.kind === 'files') {
    if (!have.present || have.selfSigned) return 'install from tls.files';
    return have.fingerprint === args.want.fingerprint ? undefined : `replace with tls.files (serving one for ${have.names.join(', ') || 'no name'}, expires ${day(have.notAfter)})`;
  }
  if (!have.present || have.selfSigned) return 'issue';
  if (!have.names.includes(args.domain)) return `issue (serving one for ${have.names.join(', ') || 'no name'})`;
  const left = (Date.parse(have.notAfter!) - args.now.getTime()) / DAY_MS;
  if (left < args.want.renewBeforeDays) return `renew (expires ${day(have.notAfter)})`;
  return undefined;
}

/** Pure: the reason, or undefined, from this host's reading and the other load balancers' (undefined: not read). */
export function certificateReason(args: Pick<CertificateArgs, 'domain' | 'want' | 'now'>, have: CertificateState, peers: [string, CertificateState | undefined][]): string | undefined {
  const own = ownReason(args, have);
  if (own) return own;
  for (const [name, theirs] of peers) {
    if (!theirs) continue;
    if (ownReason(args, theirs)) return `renew with ${name}, whose certificate is due (this one expires ${day(have.notAfter)})`;
    if (theirs.fingerprint !== have.fingerprint) return `replace: ${name} serves another certificate (every load balancer serves the same one)`;
  }
  return undefined;
}

export function certificate(args: CertificateArgs): Op {
  const fact = certificateFact(args.path);
  const peers = args.peers.map((h) => [h, peerFact(h, fact)] as const);
  return {
    id: `certificate ${args.path}`,
    facts: [fact, ...peers.map(([, f]) => f)],
    notify: args.notify,
    plan(f): Change | null {
      const reason = certificateReason(args, f.get(fact), peers.map(([h, pf]) => [h, f.get(pf)]));
      if (!reason) return null;
      return {
        summary: `certificate for ${args.domain}: ${reason}`,
        commands: [{ kind: 'put', path: args.path, content: args.content, mode: '0600', owner: 'root', group: 'root', backup: (args.notify ?? []).length > 0 }],
        invalidates: [fact.id],
      };
    },
  };
}

/**
 * Before HAProxy first starts with its TLS frontend, a certificate must be there: a one-day
 * self-signed placeholder made on the host (its key never leaves it), replaced by the CA's in
 * the same run once HAProxy answers the challenge on :80.
 */
export function placeholderCertificate(args: { domain: string; path: string }): Op {
  const fact = certificateFact(args.path);
  return {
    id: `placeholder certificate ${args.path}`,
    facts: [fact],
    plan(f): Change | null {
      if (f.get(fact).present) return null;
      const tmp = `${args.path}.placeholder`;
      return {
        summary: `certificate for ${args.domain}: self-signed placeholder until the CA's arrives`,
        commands: [
          {
            kind: 'script',
            describe: `make a self-signed placeholder certificate ${args.path}`,
            script: [
              sh`mkdir -p "$(dirname ${args.path})"`,
              'umask 077',
              sh`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj ${`/CN=${args.domain}`} -keyout ${`${tmp}.key`} -out ${`${tmp}.crt`} 2>/dev/null`,
              sh`cat ${`${tmp}.crt`} ${`${tmp}.key`} > ${tmp} && rm -f ${`${tmp}.crt`} ${`${tmp}.key`} && mv -f ${tmp} ${args.path}`,
            ].join('\n'),
          },
        ],
        invalidates: [fact.id],
      };
    },
  };
}
