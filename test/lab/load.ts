// A bounded load generator for the lab's load balancers: a steady stream of GET / spread over
// every address, new connection per request, counting every answer that is not a 200.
import { httpGet } from '../../src/verify/http.ts';

export interface LoadResult {
  sent: number;
  failed: number;
  failures: string[];
  seconds: number;
  perSecond: number;
}

export function startLoad(addresses: string[], opts: { ratePerSecond?: number; maxSeconds?: number } = {}) {
  const rate = opts.ratePerSecond ?? 80;
  const maxMs = (opts.maxSeconds ?? 300) * 1000;
  const t0 = performance.now();
  let stopped = false;
  let sent = 0;
  let failed = 0;
  const failures: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const one = async (address: string) => {
    try {
      const res = await httpGet(`http://${address}/`, 5000);
      if (res.status !== 200) {
        failed++;
        failures.push(`${address}: HTTP ${res.status} ${res.body.slice(0, 120)}`);
      }
    } catch (err) {
      failed++;
      failures.push(`${address}: ${(err as Error).message}`);
    }
  };
  const timer = setInterval(() => {
    if (stopped || performance.now() - t0 > maxMs) return;
    const p = one(addresses[sent % addresses.length]!);
    sent++;
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }, 1000 / rate);
  return {
    async stop(): Promise<LoadResult> {
      stopped = true;
      clearInterval(timer);
      await Promise.all(inFlight);
      const seconds = (performance.now() - t0) / 1000;
      return { sent, failed, failures: failures.slice(0, 10), seconds, perSecond: sent / seconds };
    },
  };
}
