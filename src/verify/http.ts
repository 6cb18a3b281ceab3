// HTTP(S) from the control machine to the load balancers (their own addresses only). With a
// `tls:` section the site is reached over HTTPS for the domain (SNI and Host), trusting tls.ca
// (or the system's CAs): siteGet is the one helper verify, status and the lab tests use for it.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { Inventory } from '../inventory/types.ts';
import { InputError } from '../errors.ts';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  /** https: the CA to trust (PEM); the name checked is the Host header's (SNI). */
  ca?: string;
}

export function httpGet(url: string, timeoutMs = 3000, host?: string, opts: RequestOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:');
    const headers = { ...(host ? { host } : {}), ...opts.headers };
    const options = { method: opts.method ?? 'GET', timeout: timeoutMs, agent: false as const, headers, ...(secure && { servername: host, ca: opts.ca }) };
    const req = (secure ? https : http).request(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** How the site is reached through a load balancer. */
export interface Site {
  domain: string;
  /** Present with a `tls:` section: HTTPS, trusting `ca` (PEM; undefined: the system's CAs). */
  tls?: { ca?: string };
}

/** The inventory's site; tls.ca is read here (a missing file is an input error naming the field). */
export function siteOf(inv: Inventory): Site {
  if (!inv.tls) return { domain: inv.domain };
  const file = inv.tls.caFile;
  if (!file) return { domain: inv.domain, tls: {} };
  try {
    return { domain: inv.domain, tls: { ca: readFileSync(file, 'utf8') } };
  } catch (err) {
    throw new InputError(`tls.ca: ${file} cannot be read (${(err as NodeJS.ErrnoException).code})`, {
      cause: err,
      hint: 'for the lab, `tandem lab up` writes it (Pebble makes a new root at each start)',
    });
  }
}

/** The URL of `path` on the site through the load balancer at `address`. */
export function siteUrl(site: Site, address: string, path: string): string {
  return `${site.tls ? 'https' : 'http'}://${address}${path}`;
}

/** A request through the load balancer at `address`: HTTPS for the domain with tls, plain HTTP without. */
export function siteGet(site: Site, address: string, path: string, timeoutMs = 3000, opts: Omit<RequestOptions, 'ca'> = {}): Promise<HttpAnswer> {
  return httpGet(siteUrl(site, address, path), timeoutMs, site.tls ? site.domain : undefined, { ...opts, ca: site.tls?.ca });
}
