// Obtaining the load balancers' certificate from an ACME CA (acme-client), on the control machine,
// once per run: every load balancer's certificate op writes what this one order gives.
// http-01: the token goes on EVERY web host (Nginx serves it), since the CA's validator may reach
// any load balancer, and HAProxy sends /.well-known/acme-challenge/ to any web server. Before the
// CA is asked to validate, every load balancer must answer the token on :80 (a load balancer
// converging in parallel may not have started HAProxy yet).
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CertificateSource, HostSpec } from '../inventory/types.ts';
import type { Connection } from '../ssh/connection.ts';
import type { Redactor } from '../secrets/secret.ts';
import { Secret } from '../secrets/secret.ts';
import { loadOrCreateKey } from '../secrets/key-file.ts';
import { runCommand } from '../engine/commands.ts';
import { CertificateError, InputError } from '../errors.ts';
import { ACME_CHALLENGE_PATH, ACME_WEBROOT, HTTP_PORT } from '../stack/names.ts';
import { sh } from '../ssh/shell.ts';
import { commonJsExports } from '../commonjs.ts';

export interface IssuerInput {
  source: Extract<CertificateSource, { kind: 'acme' }>;
  domain: string;
  accountKeyFile: string;
  webHosts: HostSpec[];
  lbHosts: HostSpec[];
  connect(host: HostSpec): Promise<Connection>;
  redactor: Redactor;
  /** How long every load balancer has to answer the token before the CA is asked (ms). */
  servedWithinMs?: number;
  /** Whether a host's work in this run has already failed (it will not start HAProxy or Nginx now). */
  failedInRun?: (host: string) => boolean;
}

/** Tokens are base64url (RFC 8555 8.1): anything else is refused before it names a file. */
const TOKEN = /^[A-Za-z0-9_-]{16,256}$/;

export const challengeFile = (token: string) => `${ACME_WEBROOT}${ACME_CHALLENGE_PATH}${token}`;

/** One order per run, shared: the first caller starts it, the others wait for the same result. */
export function acmeIssuer(input: IssuerInput): () => Promise<Secret> {
  let order: Promise<Secret> | undefined;
  return () => (order ??= issue(input));
}

async function issue(input: IssuerInput): Promise<Secret> {
  const { source, domain } = input;
  // A load balancer whose run already failed cannot answer the validator: no order is placed
  // (the CA's failed validations count against its limits), and nobody waits for it.
  const failedLb = input.lbHosts.find((lb) => input.failedInRun?.(lb.name));
  if (failedLb) throw cannotServe(failedLb, 'it failed earlier in this run');
  // 0.3 s to load (measured): only when a certificate is due, never in a run that changes nothing.
  const acme = commonJsExports(await import('acme-client'));
  if (source.caBundle) {
    let ca: string;
    try {
      ca = await readFile(source.caBundle, 'utf8');
    } catch (err) {
      throw new InputError(`tls.acme.ca_bundle: ${source.caBundle} cannot be read (${(err as NodeJS.ErrnoException).code})`, {
        cause: err,
        hint: 'for the lab, `tandem lab up` writes it (Pebble makes its certificates at each start)',
      });
    }
    // acme-client talks through its one axios instance: the directory's CA is trusted there.
    acme.axios.defaults.httpsAgent = new https.Agent({ ca });
  }
  const accountKey = await loadOrCreateKey(input.accountKeyFile, async () => (await acme.crypto.createPrivateEcdsaKey()).toString());
  const client = new acme.Client({ directoryUrl: source.directory, accountKey: accountKey.reveal() });
  const key = await acme.crypto.createPrivateEcdsaKey();
  const [, csr] = await acme.crypto.createCsr({ commonName: domain, altNames: [domain] }, key);
  let chain: string;
  try {
    chain = await client.auto({
      csr,
      email: source.email,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      // Its own check would resolve the domain from here; ours asks every load balancer instead.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        if (!TOKEN.test(challenge.token)) throw new CertificateError(`the CA sent a challenge token tandem refuses to use as a file name`);
        await onWebHosts(input, (conn) =>
          runCommand(conn, { kind: 'put', path: challengeFile(challenge.token), content: keyAuthorization, mode: '0644', owner: 'root', group: 'root' }, input.redactor),
        );
        await servedByEveryLb(input, challenge.token, keyAuthorization);
      },
      challengeRemoveFn: async (_authz, challenge) => {
        await onWebHosts(input, (conn) => runCommand(conn, { kind: 'exec', argv: ['rm', '-f', challengeFile(challenge.token)] }, input.redactor));
      },
    });
  } catch (err) {
    if (err instanceof InputError || err instanceof CertificateError) throw err;
    throw new CertificateError(`certificate for ${domain} from ${source.directory}: ${(err as Error).message}`, {
      cause: err,
      hint: 'the CA validates http://<domain>/.well-known/acme-challenge/ through the load balancers: check that the domain resolves to them and that :80 is open',
    });
  }
  return new Secret(`${chain.trim()}\n${key.toString().trim()}\n`);
}

/** On every web host whose run has not failed: HAProxy sends the validator only to web servers it sees up. */
async function onWebHosts(input: IssuerInput, fn: (conn: Connection) => Promise<unknown>): Promise<void> {
  await Promise.all(
    input.webHosts.filter((h) => !input.failedInRun?.(h.name)).map(async (h) => {
      await runCommand(await input.connect(h), { kind: 'script', script: sh`mkdir -p ${ACME_WEBROOT + ACME_CHALLENGE_PATH}`, describe: 'make the ACME challenge folder' }, input.redactor);
      await fn(await input.connect(h));
    }),
  );
}

/** Polls each load balancer's :80 for the token (Host: the domain) until it answers it, bounded. */
async function servedByEveryLb(input: IssuerInput, token: string, expected: string): Promise<void> {
  const deadline = Date.now() + (input.servedWithinMs ?? 60_000);
  for (const lb of input.lbHosts) {
    for (;;) {
      const body = await fetchToken(lb.address, input.domain, token);
      if (body?.trim() === expected) break;
      if (input.failedInRun?.(lb.name)) throw cannotServe(lb, 'it failed while tandem waited for it to answer');
      if (Date.now() > deadline) throw cannotServe(lb, `no answer with the token on :${HTTP_PORT} (http://${lb.address}${ACME_CHALLENGE_PATH}…)`);
      await sleep(250);
    }
  }
}

function fetchToken(address: string, domain: string, token: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: address, port: HTTP_PORT, path: `${ACME_CHALLENGE_PATH}${token}`, headers: { host: domain }, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

function cannotServe(lb: HostSpec, why: string): CertificateError {
  return new CertificateError(`${lb.name} does not serve the ACME challenge: ${why}`, {
    host: lb.name,
    hint: `HAProxy must run on ${lb.name} and send ${ACME_CHALLENGE_PATH} to the web servers, whose Nginx serves the token; once it does, apply again`,
  });
}
