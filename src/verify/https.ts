// verify's HTTPS checks on every load balancer (with a `tls:` section): the handshake for the
// domain (chain, expiry, HTTP/2), and what plain HTTP and HTTPS answer (redirect, HSTS).
import type { HostSpec } from '../inventory/types.ts';
import type { Check } from './run.ts';
import type { httpGet as HttpGet, Site } from './http.ts';
import { judgeHandshake, type tlsHandshake as TlsHandshake } from './tls.ts';

export interface HttpsCheckInput {
  site: Site;
  lbs: HostSpec[];
  minDaysLeft: number;
  hstsMaxAge: number;
  httpGet: typeof HttpGet;
  tlsHandshake: typeof TlsHandshake;
}

export async function verifyHttps(input: HttpsCheckInput, run: (check: string, host: string | undefined, fn: Check) => Promise<void>): Promise<void> {
  const { site } = input;
  for (const lb of input.lbs) {
    await run('HTTPS for the domain: trusted chain, not expiring soon, HTTP/2 offered', lb.name, async () =>
      judgeHandshake(await input.tlsHandshake(site, lb.address), site.domain, input.minDaysLeft, new Date()),
    );
    await run('plain HTTP redirects to HTTPS, HTTPS answers with HSTS', lb.name, async () => {
      const plain = await input.httpGet(`http://${lb.address}/healthz`, 3000, site.domain);
      const secure = await input.httpGet(`https://${lb.address}/healthz`, 3000, site.domain, { ca: site.tls?.ca });
      const location = String(plain.headers.location ?? '');
      const hsts = String(secure.headers['strict-transport-security'] ?? '');
      const problems = [
        (plain.status !== 301 || location !== `https://${site.domain}/healthz`) && `http:// answered ${plain.status} ${location ? `to ${location}` : ''}, not 301 to https://${site.domain}/healthz`,
        hsts !== `max-age=${input.hstsMaxAge}` && `Strict-Transport-Security is ${hsts ? JSON.stringify(hsts) : 'missing'}, not max-age=${input.hstsMaxAge}`,
      ].filter((p): p is string => typeof p === 'string');
      return { ok: problems.length === 0, figure: `301 -> https, ${hsts ? `HSTS ${hsts}` : 'no HSTS'}`, ...(problems.length && { detail: problems.join('; ') }) };
    });
  }
}
