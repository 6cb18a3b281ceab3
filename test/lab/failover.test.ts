// lb.mode active-passive on real lab servers: keepalived keeps the shared address on web-01 while
// its HAProxy runs, moves it to web-02 when that HAProxy stops and back when it returns; going back
// to active-active stops keepalived and frees the address.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { lbGet, onHost, tandemJson } from './tandem.ts';
import { resetHosts, sshExec, sshOk, until } from './harness.ts';
import { handOffStack } from './shared-stack.ts';
import { startLoad, type LoadResult } from './load.ts';
import { addressAfterFirst, labVariant, readInventory } from './variants.ts';

// The lab inventory in active-passive mode, as inventory/lab-failover.yml is for the shared lab.
const VIP = addressAfterFirst(-1);
const PREFIX = (readInventory().lab?.gateway ?? '/24').split('/')[1];
const FAILOVER = labVariant('failover', (d) => {
  d.lb = { algorithm: 'roundrobin', mode: 'active-passive', vip: `${VIP}/${PREFIX}`, interface: 'eth0' };
});
const HOSTS = ['web-01', 'web-02'];

/** Who holds the address; over async ssh, so the load generator keeps sending meanwhile. */
async function holders(): Promise<string[]> {
  const held = await Promise.all(
    HOSTS.map(async (h) => {
      const r = await sshExec(h, `ip -o -4 addr show dev eth0 | grep -qw 'inet ${VIP}/${PREFIX}'`);
      if (r.code !== 0 && r.code !== 1) throw new Error(`${h}: could not read its addresses (exit ${r.code}): ${r.stderr}`);
      return r.code === 0;
    }),
  );
  return HOSTS.filter((_, i) => held[i]);
}

/** Polls until `want` holds the address alone; returns how long that took. */
async function waitForHolder(want: string[], timeoutMs = 15_000): Promise<number> {
  const t0 = performance.now();
  let now: string[] = [];
  await until(`${VIP} to be held by [${want.join(', ')}] alone`, async () => ((now = await holders()).join() === want.join() ? true : undefined), {
    timeoutMs,
    seen: () => `held by [${now.join(', ')}]`,
  });
  return Math.round(performance.now() - t0);
}

test.before(async () => {
  await resetHosts(HOSTS);
});

test('apply with active-passive: the shared address is on web-01 only, verify proves it, a re-run changes nothing', async () => {
  const r = tandemJson(['apply', '-i', FAILOVER]);
  assert.is(r.code, 0, r.stderr);
  for (const h of HOSTS) {
    const ops = r.json.hosts[h].ops.filter((o: any) => o.status === 'changed').map((o: any) => o.op);
    assert.ok(ops.includes('template /etc/keepalived/keepalived.conf'), `${h}: ${ops.join(', ')}`);
  }
  const v = tandemJson(['verify', '-i', FAILOVER]);
  assert.is(v.code, 0, JSON.stringify(v.json.checks.filter((c: any) => !c.ok)));
  const check = v.json.checks.find((c: any) => c.check === 'the shared address is on exactly one load balancer and answers');
  assert.is(check.figure, `${VIP} on web-01, HTTP 200`);
  assert.equal(await holders(), ['web-01']);
  const st = tandemJson(['status', '-i', FAILOVER]);
  assert.equal(st.json.sharedAddress, { address: VIP, heldBy: ['web-01'] });
  const again = tandemJson(['apply', '-i', FAILOVER]);
  assert.is(again.json.summary.changed, 0);
  for (const h of HOSTS) assert.ok(again.json.roundTrips[h] <= 2, `${h}: ${again.json.roundTrips[h]} remote commands`);
});

/**
 * The failover claim of docs/architecture.md, enforced. Of the WINDOW_REQUESTS requests sent from
 * HAProxy's stop on (15 s at 20/s), the address moves within MOVE_WITHIN_MS and at most
 * MAX_FAILED_SHARE fail; when HAProxy returns, the address comes back within MOVE_BACK_WITHIN_MS
 * and at most MAX_FAILED_SHARE_BACK fail. Measured on an idle 2-core lab machine over three runs:
 * away 2.1-2.4 s with 10-12% failed, back 4.8-5.0 s with none failed; the bounds leave a wide
 * margin for a loaded CI machine.
 */
const RATE = 20;
const WINDOW_REQUESTS = 300;
const MOVE_WITHIN_MS = 6000;
const MAX_FAILED_SHARE = 0.4;
const MOVE_BACK_WITHIN_MS = 12_000;
const MAX_FAILED_SHARE_BACK = 0.1;

/** Load on the shared address while `act` runs, until WINDOW_REQUESTS were sent; `act` gives the move time. */
async function underLoad(act: () => Promise<number>): Promise<{ moveMs: number; l: LoadResult }> {
  const load = startLoad([VIP], { ratePerSecond: RATE });
  let moveMs = -1;
  let l: LoadResult | undefined;
  try {
    moveMs = await act();
    await until(`${WINDOW_REQUESTS} requests sent to ${VIP}`, async () => (load.sent() >= WINDOW_REQUESTS ? true : undefined), { timeoutMs: 120_000 });
  } finally {
    l = await load.stop();
  }
  return { moveMs, l };
}

const share = (l: LoadResult) => `${l.failed} of ${l.sent} requests failed (${((100 * l.failed) / l.sent).toFixed(1)}%, sent ${l.failedAtMs[0] ?? '-'}-${l.failedAtMs.at(-1) ?? '-'} ms into the window)`;

test(`HAProxy stops on web-01: web-02 takes the address over within ${MOVE_WITHIN_MS / 1000} s, at most ${MAX_FAILED_SHARE * 100}% of requests fail; it comes back within ${MOVE_BACK_WITHIN_MS / 1000} s when HAProxy does`, async () => {
  const away = await underLoad(async () => {
    await sshOk('web-01', 'systemctl stop haproxy');
    const ms = await waitForHolder(['web-02']);
    const served = await lbGet(VIP, '/healthz');
    assert.is(served.status, 200, served.body);
    return ms;
  });
  const back = await underLoad(async () => {
    await sshOk('web-01', 'systemctl start haproxy');
    return waitForHolder(['web-01']);
  });
  console.log(`    failover: address moved in ${away.moveMs} ms, ${share(away.l)}`);
  console.log(`    failback: address moved in ${back.moveMs} ms, ${share(back.l)}`);
  assert.ok(away.moveMs <= MOVE_WITHIN_MS, `the address moved to web-02 in ${away.moveMs} ms`);
  assert.ok(away.l.failed <= MAX_FAILED_SHARE * away.l.sent, `failover: ${share(away.l)}`);
  assert.ok(back.moveMs <= MOVE_BACK_WITHIN_MS, `the address moved back to web-01 in ${back.moveMs} ms`);
  assert.ok(back.l.failed <= MAX_FAILED_SHARE_BACK * back.l.sent, `failback: ${share(back.l)}`);
  assert.is((await lbGet(VIP, '/healthz')).status, 200);
});

test('back to active-active: keepalived is stopped and disabled, the address is free', async () => {
  const r = tandemJson(['apply']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(await holders(), []);
  for (const h of HOSTS) {
    assert.is(onHost(h, 'systemctl is-active keepalived').stdout.trim(), 'inactive');
    assert.is(onHost(h, 'systemctl is-enabled keepalived').stdout.trim(), 'disabled');
  }
  assert.is(tandemJson(['apply']).json.summary.changed, 0);
  await handOffStack();
});

test.run();
