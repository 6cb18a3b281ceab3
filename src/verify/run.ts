// `verify`: prove the stack works end to end (DESIGN section 6). Each check reports pass/fail and
// what it measured; one failing check does not stop the others.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostSpec, Inventory } from '../inventory/types.ts';
import type { Connection } from '../ssh/connection.ts';
import type { Secrets } from '../secrets/store.ts';
import type { Redactor } from '../secrets/secret.ts';
import { dialectOf, hasRole, primaryOf } from '../stack/roles.ts';
import type { Dialect } from '../ops/mysql/dialect.ts';
import { HAPROXY_BACKEND, VERIFY_DB, VERIFY_USER } from '../stack/names.ts';
import type { CheckResult, CheckSink } from './types.ts';
import type { Command } from '../engine/types.ts';
import { failureText, runCommand } from '../engine/commands.ts';
import { expireAfter } from '../ssh/deadline.ts';
import { VerificationError } from '../errors.ts';
import { httpGet, siteOf, siteUrl } from './http.ts';
import { tlsHandshake } from './tls.ts';
import { verifyHttps } from './https.ts';
import { replicationTlsCheck } from './db-tls.ts';
import { appHealthCommand, parseHealthAnswer } from './health.ts';
import { parseStatCsv, STAT_COMMAND } from './haproxy.ts';
import { closeDb, openDb, row, scalar, type Db } from './database.ts';
import { addressesCommand, holdsAddress } from '../facts/address.ts';
import { probePort } from './ports.ts';
import { verifyFirewall } from './firewall-checks.ts';
import type { PortRow } from './firewall.ts';
import { verifyMonitoring } from './monitoring.ts';

export interface VerifyInput {
  inventory: Inventory;
  hosts: HostSpec[];
  secrets: Secrets;
  redactor: Redactor;
  connect(host: HostSpec): Promise<Connection>;
  emit: CheckSink;
  /** Replica lag above this fails the check (seconds); default the inventory's db.max_replica_lag. */
  maxLagSeconds?: number;
  /** Requests sent through each load balancer. */
  requests?: number;
  /** How long the shared address may take to settle on one load balancer (active-passive). */
  failoverWaitMs?: number;
  /** How long one check may take (its database queries have no deadline of their own); default 60 s. */
  checkTimeoutSeconds?: number;
  /** How long the canary row may take to reach a replica; default 10 s. */
  canaryTimeoutMs?: number;
  /**
   * How long the rotation checks retry before failing; default 6 s. HAProxy puts a web server that
   * just came up (an apply that restarted its app) back in rotation only after `rise 2` good
   * checks a second apart: a verify run right after apply must not fail on that window.
   */
  rotationSettleMs?: number;
  /** tandem's CA for the servers' TLS (MariaDB): replication's TLS is checked against it. */
  serverCaPem?: string;
  /** How verify reaches HTTP and the databases: the real ones unless a test passes its own. */
  io?: VerifyIo;
}

export interface VerifyIo {
  httpGet: typeof httpGet;
  openDb: typeof openDb;
  probePort: typeof probePort;
  /** With a `tls:` section (the real one when a test leaves it out). */
  tlsHandshake?: typeof tlsHandshake;
}

const REAL_IO: VerifyIo = { httpGet, openDb, probePort, tlsHandshake };

export type Check = () => Promise<{ figure: string; ok?: boolean; detail?: string; rows?: PortRow[] }>;

/** Run a check again (every 250 ms) while it fails, for at most `withinMs`; the last answer stands. */
async function retriedFor(check: Check, withinMs: number): ReturnType<Check> {
  const until = performance.now() + withinMs;
  for (;;) {
    const r = await check();
    if (r.ok !== false || performance.now() >= until) return r;
    await sleep(250);
  }
}

export async function verify(input: VerifyInput): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const run = async (check: string, host: string | undefined, fn: Check) => {
    const t0 = performance.now();
    let r: CheckResult;
    try {
      const seconds = input.checkTimeoutSeconds ?? 60;
      const out = await expireAfter(fn(), seconds * 1000, () => new VerificationError(`no answer in ${seconds} s`));
      r = { check, host, ok: out.ok ?? true, figure: out.figure, detail: out.detail, ...(out.rows && { rows: out.rows }), durationMs: 0 };
    } catch (err) {
      r = { check, host, ok: false, figure: 'failed', detail: failureText(err, input.redactor, host), durationMs: 0 };
    }
    r.durationMs = Math.round(performance.now() - t0);
    results.push(r);
    input.emit(r);
  };

  const exec = async (h: HostSpec, cmd: Command) => runCommand(await input.connect(h), cmd, input.redactor);
  const io = input.io ?? REAL_IO;
  const { httpGet } = io;
  const inv = input.inventory;
  // Through a load balancer: HTTPS for the domain with a `tls:` section, plain HTTP without.
  const site = siteOf(inv);
  const get = (address: string, path: string) => httpGet(siteUrl(site, address, path), 3000, site.tls ? site.domain : undefined, { ca: site.tls?.ca });
  const webHosts = inv.hosts.filter((h) => hasRole(h, 'web'));
  const n = input.requests ?? Math.max(6, webHosts.length * 4);

  for (const lb of input.hosts.filter((h) => hasRole(h, 'lb'))) {
    const settle = input.rotationSettleMs ?? 6000;
    await run('http through the load balancer reaches every web server', lb.name, () => retriedFor(async () => {
      const seen = new Map<string, number>();
      const failures: string[] = [];
      for (let i = 0; i < n; i++) {
        const res = await get(lb.address, '/healthz');
        if (res.status !== 200) failures.push(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
        const server = String(res.headers['x-app-server'] ?? '?');
        seen.set(server, (seen.get(server) ?? 0) + 1);
      }
      const missing = webHosts.map((h) => h.name).filter((name) => !seen.has(name));
      const ok = failures.length === 0 && missing.length === 0;
      return {
        ok,
        figure: `${n - failures.length}/${n} OK, answered by ${[...seen.keys()].sort().join(', ')}`,
        detail: ok ? undefined : [...failures.slice(0, 3), missing.length ? `never answered: ${missing.join(', ')}` : ''].filter(Boolean).join('; '),
      };
    }, settle));
    await run('every backend is UP in HAProxy', lb.name, () => retriedFor(async () => {
      const res = await exec(lb, { kind: 'exec', argv: STAT_COMMAND });
      const servers = parseStatCsv(res.stdout).filter((s) => s.backend === HAPROXY_BACKEND);
      const up = servers.filter((s) => s.status.startsWith('UP'));
      const expected = webHosts.length;
      return {
        ok: up.length === expected && servers.length === expected,
        figure: `${up.length}/${expected} backends UP`,
        detail: up.length === expected ? undefined : servers.map((s) => `${s.server} ${s.status}`).join(', '),
      };
    }, settle));
  }

  if (inv.tls) {
    const lbs = input.hosts.filter((h) => hasRole(h, 'lb'));
    await verifyHttps({ site, lbs, minDaysLeft: inv.tls.minDaysLeft, hstsMaxAge: inv.tls.hstsMaxAgeSeconds, httpGet, tlsHandshake: io.tlsHandshake ?? tlsHandshake }, run);
  }

  const failover = inv.lb.failover;
  if (failover) {
    await run('the shared address is on exactly one load balancer and answers', undefined, async () => {
      const lbs = inv.hosts.filter((h) => hasRole(h, 'lb'));
      const holdersNow = async () => {
        const holders: string[] = [];
        for (const lb of lbs) {
          const res = await exec(lb, { kind: 'exec', argv: addressesCommand(failover.interface) });
          if (holdsAddress(res.stdout, failover.vip)) holders.push(lb.name);
        }
        return holders;
      };
      // Right after keepalived starts, the election takes a few seconds (advert_int 1, 3 missed).
      const deadline = performance.now() + (input.failoverWaitMs ?? 10_000);
      let holders = await holdersNow();
      while (holders.length !== 1 && performance.now() < deadline) {
        await sleep(500);
        holders = await holdersNow();
      }
      if (holders.length !== 1) {
        return { ok: false, figure: `${failover.vip} on ${holders.length} load balancers`, detail: holders.length ? `held by ${holders.join(', ')}` : 'no load balancer holds it: is keepalived running?' };
      }
      const res = await get(failover.vip, '/healthz');
      return { ok: res.status === 200, figure: `${failover.vip} on ${holders[0]}, HTTP ${res.status}`, detail: res.status === 200 ? undefined : res.body.slice(0, 200) };
    });
  }

  for (const h of input.hosts.filter((x) => hasRole(x, 'app'))) {
    await run('the app answers its health endpoint', h.name, async () => {
      // /healthz answers 200 only when reads and writes both work.
      const res = await exec(h, { kind: 'exec', argv: appHealthCommand(inv.app.port), okExitCodes: 'any' });
      const { code, body } = parseHealthAnswer(res.stdout);
      return { ok: code === '200', figure: `HTTP ${code || 'no answer'}`, detail: code === '200' ? undefined : body || res.stderr.trim() };
    });
  }

  await verifyReplication(input, run);
  if (inv.firewall.enabled) await verifyFirewall({ inventory: inv, hosts: input.hosts, probePort: (input.io ?? REAL_IO).probePort }, run, exec);
  await verifyMonitoring(inv, input.hosts, exec, run, retriedFor);
  return results;
}

async function verifyReplication(input: VerifyInput, run: (c: string, h: string | undefined, fn: Check) => Promise<void>) {
  const inv = input.inventory;
  const d = dialectOf(inv);
  const primary = primaryOf(inv);
  const replicas = input.hosts.filter((h) => hasRole(h, 'db-replica'));
  if (replicas.length === 0) return;
  const maxLag = input.maxLagSeconds ?? inv.db.maxReplicaLagSeconds;
  const canaryMs = input.canaryTimeoutMs ?? 10_000;
  const { openDb } = input.io ?? REAL_IO;
  let pdb: Db | undefined;
  try {
    try {
      pdb = await openDb(await input.connect(primary), primary.address, VERIFY_USER, input.secrets.db_verify_password, VERIFY_DB);
    } catch (err) {
      await run('the primary accepts connections', primary.name, async () => {
        throw err;
      });
      return;
    }
    await pdb.query('CREATE TABLE IF NOT EXISTS canary (id BIGINT AUTO_INCREMENT PRIMARY KEY, token VARCHAR(64) NOT NULL, created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))');
    for (const r of replicas) {
      let rdb: Db | undefined;
      try {
        rdb = await openDb(await input.connect(r), r.address, VERIFY_USER, input.secrets.db_verify_password, VERIFY_DB);
        const db = rdb;
        const s = d.status;
        await run('replication threads run without errors', r.name, async () => {
          const st = await row(db, d.showReplicaStatus.replace(/\\G$/, ''));
          if (!st) return { ok: false, figure: 'not configured', detail: 'replication is not set up on this host' };
          const io = String(st[s.ioRunning]);
          const sql = String(st[s.sqlRunning]);
          const errors = [st[s.lastIoError], st[s.lastSqlError]].filter((e) => e).join('; ');
          return { ok: io === 'Yes' && sql === 'Yes' && !errors, figure: `IO ${io}, SQL ${sql}`, detail: errors || undefined };
        });
        if (input.serverCaPem) {
          const caPem = input.serverCaPem;
          await run('replication uses TLS, the primary\'s certificate verified', r.name, async () =>
            replicationTlsCheck({
              replica: r,
              primary,
              replicaConn: await input.connect(r),
              status: await row(db, d.showReplicaStatus.replace(/\\G$/, '')),
              dialect: d,
              caPem,
              password: input.secrets.db_replication_password,
              openDb,
            }),
          );
        }
        await run('replica lag is under the limit', r.name, async () => {
          const st = await row(db, d.showReplicaStatus.replace(/\\G$/, ''));
          const lag = st?.[s.lag];
          const ok = lag !== null && lag !== undefined && Number(lag) <= maxLag;
          return { ok, figure: lag === null || lag === undefined ? 'lag unknown' : `lag ${lag} s (limit ${maxLag} s)` };
        });
        await run('the replica has executed the primary GTID set', r.name, async () => {
          const gtid = String(await scalar(pdb!, d.primaryGtidQuery));
          const t0 = performance.now();
          const res = Number(await scalar(db, d.waitForGtid(gtid, 10)));
          return { ok: res === 0, figure: `${gtid || '(empty)'} in ${Math.round(performance.now() - t0)} ms`, detail: res === 0 ? undefined : 'timed out after 10 s' };
        });
        await run('the replica is read-only', r.name, async () => {
          const ro = Number(await scalar(db, 'SELECT @@GLOBAL.read_only'));
          return { ok: ro === 1, figure: `read_only ${ro === 1 ? 'ON' : 'OFF'}` };
        });
        await run('a canary row written on the primary is read on the replica', r.name, async () => {
          const token = randomBytes(12).toString('hex');
          const t0 = performance.now();
          await pdb!.query('INSERT INTO canary (token) VALUES (?)', [token]);
          const deadline = t0 + canaryMs;
          while (performance.now() < deadline) {
            const found = Number(await scalar(db, 'SELECT COUNT(*) FROM canary WHERE token = ?', [token]));
            if (found === 1) return { figure: `canary round trip ${Math.round(performance.now() - t0)} ms` };
            await sleep(20);
          }
          return { ok: false, figure: 'canary not seen', detail: `the row did not reach the replica within ${canaryMs / 1000} s` };
        });
      } catch (err) {
        await run('the replica accepts connections', r.name, async () => {
          throw err;
        });
      } finally {
        if (rdb) await closeDb(rdb);
      }
    }
    await run('semi-sync replication is active on the primary', primary.name, () => semiSyncActive(pdb!, d, Math.min(3000, canaryMs)));
    // Housekeeping only: rows it fails to delete wait for the next verify, and no check depends on it.
    await pdb.query('DELETE FROM canary WHERE created_at < NOW() - INTERVAL 1 DAY').catch(() => undefined);
  } finally {
    if (pdb) await closeDb(pdb);
  }
}

/**
 * Semi-sync on (a commit waits for a replica's acknowledgement) with a replica connected. Read
 * after the canary's commit (the primary switches semi-sync back on at a commit a caught-up
 * replica acknowledges), polled for up to `waitMs`.
 */
async function semiSyncActive(db: Db, d: Dialect, waitMs: number): Promise<{ ok: boolean; figure: string; detail?: string }> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    const [rows] = await db.query({ sql: 'SHOW GLOBAL STATUS WHERE Variable_name IN (?, ?)', rowsAsArray: true }, [d.semiSyncStatus.active, d.semiSyncStatus.clients]);
    const status = new Map((rows as unknown[][]).map(([name, value]) => [String(name), String(value)]));
    const active = status.get(d.semiSyncStatus.active) === 'ON';
    const clients = Number(status.get(d.semiSyncStatus.clients) ?? 0);
    const figure = `${active ? 'ON' : 'OFF'}, ${clients} replica(s) acknowledging`;
    if (active && clients > 0) return { ok: true, figure };
    if (performance.now() > deadline) {
      return { ok: false, figure, detail: 'commits are acknowledged before any replica has them: a failover now could lose them (a replica down, or semi-sync timed out)' };
    }
    await sleep(200);
  }
}
