// A bounded load generator for the lab's load balancers: a steady stream of GET / spread over
// every address, new connection per request, counting every answer that is not a 2xx. It runs
// on the event loop: a test that blocks the loop (spawnSync) stops the load meanwhile, which the
// rate it reports, and steadyLoad below, give away.
import type { HttpAnswer } from '../../src/verify/http.ts';
import { lbGet } from './tandem.ts';

export interface LoadResult {
  sent: number;
  failed: number;
  /** The first failures, in the words of whatever failed. */
  failures: string[];
  /** When each failed request was sent, in ms since the load started. */
  failedAtMs: number[];
  seconds: number;
  perSecond: number;
}

/** The least a load run under a "0 failed requests" claim must have sent for the claim to mean something. */
export const MIN_RATE_PER_SECOND = 50;

/**
 * `send`: one request to an address (default GET /). A write load passes one that POSTs, and counts
 * the writes that succeeded with `ok()`.
 */
export function startLoad(addresses: string[], opts: { ratePerSecond?: number; maxSeconds?: number; send?: (address: string) => Promise<HttpAnswer> } = {}) {
  const rate = opts.ratePerSecond ?? 80;
  const maxMs = (opts.maxSeconds ?? 300) * 1000;
  const t0 = performance.now();
  let stopped = false;
  let sent = 0;
  let failed = 0;
  let ok = 0;
  const send = opts.send ?? ((address: string) => lbGet(address, '/', { timeoutMs: 5000 }));
  const failures: string[] = [];
  const failedAtMs: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const one = async (address: string, at: number) => {
    const fail = (why: string) => {
      failed++;
      failedAtMs.push(at);
      if (failures.length < 10) failures.push(`${address} at ${at} ms: ${why}`);
    };
    try {
      const res = await send(address);
      // 2xx: a write answers 201 Created.
      if (res.status < 200 || res.status > 299) fail(`HTTP ${res.status} ${res.body.slice(0, 120)}`);
      else ok++;
    } catch (err) {
      fail((err as Error).message);
    }
  };
  const timer = setInterval(() => {
    const now = performance.now();
    if (stopped || now - t0 > maxMs) return;
    // Every request due by now: a tick that comes late (a busy machine, TLS handshakes on this
    // event loop) sends the ones it owes, so the rate is the one asked for, not the timer's.
    const due = Math.floor(((now - t0) * rate) / 1000);
    while (sent < due) {
      const p = one(addresses[sent % addresses.length]!, Math.round(now - t0));
      sent++;
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
  }, 1000 / rate);
  return {
    /** Requests sent so far (answered or not). */
    sent: () => sent,
    /** Requests answered 2xx so far. */
    ok: () => ok,
    async stop(): Promise<LoadResult> {
      stopped = true;
      clearInterval(timer);
      await Promise.all(inFlight);
      const seconds = (performance.now() - t0) / 1000;
      return { sent, failed, failures, failedAtMs: failedAtMs.sort((a, b) => a - b), seconds, perSecond: sent / seconds };
    },
  };
}

/**
 * The "0 failed requests" claim, made honest: nothing failed, at least `minRequests` were sent,
 * at MIN_RATE_PER_SECOND or more over the whole run. Returns the line the test prints.
 */
export function steadyLoad(l: LoadResult, minRequests: number): string {
  const line = `${l.sent} requests in ${l.seconds.toFixed(1)} s (${l.perSecond.toFixed(0)}/s), ${l.failed} failed`;
  if (l.failed !== 0) throw new Error(`${line}:\n${l.failures.join('\n')}`);
  if (l.sent < minRequests) throw new Error(`${line}: expected at least ${minRequests} requests`);
  if (l.perSecond < MIN_RATE_PER_SECOND) throw new Error(`${line}: expected at least ${MIN_RATE_PER_SECOND} requests/s`);
  return line;
}
