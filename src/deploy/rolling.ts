// Rolling release switch: server by server (or N at a time) drain it in every HAProxy, wait for
// its in-flight requests, switch `current`, restart the app, wait for /healthz through Nginx, put
// it back and wait until every HAProxy sees it UP before touching the next one. A failed health
// check puts that server back on its previous release and rolls back the servers already done.
import os from 'node:os';
import { readFileSync } from 'node:fs';
import type { HostSpec, Inventory } from '../inventory/types.ts';
import type { Connection, ExecResult } from '../ssh/connection.ts';
import type { Redactor } from '../secrets/secret.ts';
import { TandemError } from '../errors.ts';
import { hasRole } from '../stack/roles.ts';
import { APP_RELEASES, HAPROXY_BACKEND } from '../stack/names.ts';
import { parseStatCsv } from '../verify/haproxy.ts';
import { releaseUploadScript } from '../ops/release.ts';
import type { Release } from '../release/prepare.ts';
import {
  HEALTH_THROUGH_NGINX,
  LIST_RELEASES,
  parseReleaseList,
  previousRelease,
  pruneReleases,
  releasesToPrune,
  removeFailedRelease,
  RESTART_APP,
  setServerState,
  SHOW_STAT,
  switchCurrent,
  type ReleaseList,
  type ServerState,
} from './commands.ts';
import { acquireScript, LOCK_HELD, lockVerdict, releaseScript, takeOverScript, type LockInfo } from './lock.ts';

export class DeployError extends TandemError {}

export interface ServerReport {
  from?: string;
  to: string;
  status: 'updated' | 'unchanged' | 'rolled back' | 'failed';
  outOfRotationMs: number;
  /** Which batch (from 1) the server was switched in: servers of one batch are out together. */
  batch: number;
}

export interface DeployReport {
  ok: boolean;
  /** Stopped by the user (Ctrl-C); what it had switched was put back. */
  interrupted?: boolean;
  release: string;
  servers: Record<string, ServerReport>;
  warnings: string[];
  error?: string;
  durationMs: number;
}

export type DeployEvent =
  | { type: 'deploy:start'; hosts: string[]; release: string }
  | { type: 'server:step'; host: string; step: string }
  | { type: 'server:done'; host: string; report: ServerReport }
  | { type: 'warn'; message: string };

export type Target = { kind: 'release'; release: Release } | { kind: 'previous' } | { kind: 'named'; id: string };

export interface DeployInput {
  inventory: Inventory;
  hosts: HostSpec[];
  connect(host: HostSpec): Promise<Connection>;
  redactor: Redactor;
  emit(e: DeployEvent): void;
  target: Target;
  batch?: number;
  forceUnlock?: boolean;
  lockTtlMs?: number;
  drainTimeoutMs?: number;
  healthTimeoutMs?: number;
  now?: () => Date;
  /**
   * Aborted (Ctrl-C): the servers in progress finish their switch and come back into rotation,
   * then every server this deploy switched goes back, as after a failed health check.
   */
  signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function must(conn: Connection, req: Parameters<Connection['exec']>[0], what: string, redactor: Redactor): Promise<ExecResult> {
  const res = await conn.exec(req);
  if (res.exitCode !== 0) {
    throw new DeployError(redactor.redact(`${conn.host.name}: ${what} failed (exit ${res.exitCode}): ${(res.stderr || res.stdout).trim()}`), {
      host: conn.host.name,
    });
  }
  return res;
}

export async function rollingDeploy(input: DeployInput): Promise<DeployReport> {
  const t0 = performance.now();
  const { emit, redactor } = input;
  const now = input.now ?? (() => new Date());
  const apps = input.hosts.filter((h) => hasRole(h, 'app'));
  if (apps.length === 0) throw new DeployError('no app host in scope: nothing to deploy');
  const lbs = input.inventory.hosts.filter((h) => hasRole(h, 'lb'));
  const webNames = new Set(input.inventory.hosts.filter((h) => hasRole(h, 'web')).map((h) => h.name));
  const batch = input.batch ?? 1;
  const inRotation = apps.filter((h) => webNames.has(h.name)).length;
  if (!Number.isInteger(batch) || batch < 1) throw new DeployError(`--batch must be a whole number of at least 1, not ${batch}`);
  if (inRotation > 0 && batch >= webNames.size) {
    throw new DeployError(`--batch ${batch} would take every web server out of rotation at once (there are ${webNames.size}); use at most ${webNames.size - 1}`);
  }
  const conns = new Map<string, Connection>();
  for (const h of [...apps, ...lbs]) if (!conns.has(h.name)) conns.set(h.name, await input.connect(h));
  const conn = (h: HostSpec) => conns.get(h.name)!;
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    emit({ type: 'warn', message });
  };

  const locks = await acquireLocks(apps, conn, input, now, warn);
  const report: DeployReport = { ok: false, release: '', servers: {}, warnings, durationMs: 0 };
  try {
    const lists = new Map<string, ReleaseList>();
    for (const h of apps) lists.set(h.name, parseReleaseList((await must(conn(h), { script: LIST_RELEASES }, 'listing releases', redactor)).stdout));
    const bare = apps.filter((h) => !lists.get(h.name)!.current);
    if (bare.length) {
      throw new DeployError(`${bare.map((h) => h.name).join(', ')}: no release installed yet; run \`tandem apply\` first (deploy updates a provisioned fleet)`);
    }
    const targetId = resolveTarget(input.target, apps, lists);
    report.release = targetId;
    emit({ type: 'deploy:start', hosts: apps.map((h) => h.name), release: targetId });

    // Servers this deploy brings the release to: if it fails, it leaves them as it found them.
    const uploaded: HostSpec[] = [];
    if (input.target.kind === 'release') {
      const tar = readFileSync(input.target.release.tarball);
      await Promise.all(
        apps.map(async (h) => {
          if (lists.get(h.name)!.releases.includes(targetId)) return;
          uploaded.push(h);
          emit({ type: 'server:step', host: h.name, step: `upload release ${targetId}` });
          await must(conn(h), { script: releaseUploadScript(`${APP_RELEASES}/${targetId}`), stdin: tar }, 'uploading the release', redactor);
        }),
      );
    } else {
      for (const h of apps) {
        if (!lists.get(h.name)!.releases.includes(targetId)) throw new DeployError(`${h.name}: release ${targetId} is not on this server`);
      }
    }

    const done: HostSpec[] = [];
    /** Put every server this deploy switched back on its release, and remove what it uploaded. */
    const undo = async () => {
      for (const h of [...done].reverse()) {
        const before = lists.get(h.name)!;
        const from = before.current!;
        emit({ type: 'server:step', host: h.name, step: `roll back to ${from}` });
        const ms = await roll(h, from, before.previous ?? null);
        const earlier = report.servers[h.name]!;
        report.servers[h.name] = { from: targetId, to: from, status: 'rolled back', outOfRotationMs: ms + earlier.outOfRotationMs, batch: earlier.batch };
        emit({ type: 'server:done', host: h.name, report: report.servers[h.name]! });
      }
      // A failed release left on disk would be the next `rollback`'s target.
      for (const h of uploaded) {
        emit({ type: 'server:step', host: h.name, step: `remove the failed release ${targetId}` });
        try {
          await must(conn(h), { script: removeFailedRelease(targetId) }, `removing the failed release ${targetId}`, redactor);
        } catch (err) {
          warn((err as Error).message);
        }
      }
    };
    const stopIfInterrupted = async () => {
      if (!input.signal?.aborted) return;
      report.interrupted = true;
      await undo();
      throw new DeployError(`interrupted: ${done.length ? `${done.map((h) => h.name).join(', ')} went back to the release they ran` : 'no server had been switched'}`);
    };
    for (let i = 0; i < apps.length; i += batch) {
      await stopIfInterrupted();
      const group = apps.slice(i, i + batch);
      const batchNo = i / batch + 1;
      const results = await Promise.allSettled(
        group.map(async (h) => {
          const from = lists.get(h.name)!.current;
          if (from === targetId) {
            const r: ServerReport = { from, to: targetId, status: 'unchanged', outOfRotationMs: 0, batch: batchNo };
            report.servers[h.name] = r;
            emit({ type: 'server:done', host: h.name, report: r });
            return;
          }
          try {
            const ms = await roll(h, targetId, from ?? null);
            done.push(h);
            const r: ServerReport = { from, to: targetId, status: 'updated', outOfRotationMs: ms, batch: batchNo };
            report.servers[h.name] = r;
            emit({ type: 'server:done', host: h.name, report: r });
          } catch (err) {
            // Put this server back on what it ran, then let the caller roll the others back.
            let back = 0;
            if (from) back = await roll(h, from, lists.get(h.name)!.previous ?? null).catch(() => -1);
            const r: ServerReport = { from, to: from ?? targetId, status: 'failed', outOfRotationMs: back, batch: batchNo };
            report.servers[h.name] = r;
            emit({ type: 'server:done', host: h.name, report: r });
            throw err;
          }
        }),
      );
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) {
        await undo();
        throw failure.reason;
      }
    }
    await stopIfInterrupted();

    for (const h of apps) {
      const list = parseReleaseList((await must(conn(h), { script: LIST_RELEASES }, 'listing releases', redactor)).stdout);
      const prune = releasesToPrune(list, input.inventory.app.keepReleases);
      if (prune.length) {
        emit({ type: 'server:step', host: h.name, step: `remove old releases ${prune.join(', ')}` });
        await must(conn(h), { argv: pruneReleases(prune) }, 'removing old releases', redactor);
      }
    }
    report.ok = true;
  } catch (err) {
    report.error = redactor.redact((err as Error).message);
  } finally {
    await Promise.all([...locks].map(([name, body]) => conns.get(name)!.exec({ script: releaseScript(body) }).catch(() => undefined)));
    report.durationMs = Math.round(performance.now() - t0);
  }
  return report;

  async function setState(h: HostSpec, state: ServerState): Promise<void> {
    if (!webNames.has(h.name)) return;
    await Promise.all(lbs.map((lb) => must(conn(lb), { script: setServerState(HAPROXY_BACKEND, h.name, state) }, `setting ${h.name} to ${state} in HAProxy`, redactor)));
  }

  /** Poll every load balancer until `ok(row)` holds for this server everywhere, or time out. */
  async function waitInLbs(h: HostSpec, ok: (status: string, current: number) => boolean, timeoutMs: number, what: string): Promise<void> {
    if (!webNames.has(h.name)) return;
    const deadline = performance.now() + timeoutMs;
    let last = '';
    for (;;) {
      const views = await Promise.all(
        lbs.map(async (lb) => {
          const res = await must(conn(lb), { script: SHOW_STAT }, 'reading HAProxy stats', redactor);
          const row = parseStatCsv(res.stdout).find((s) => s.backend === HAPROXY_BACKEND && s.server === h.name);
          return { lb: lb.name, row };
        }),
      );
      if (views.every((v) => v.row && ok(v.row.status, v.row.current))) return;
      last = views.map((v) => `${v.lb}: ${v.row ? `${v.row.status}, ${v.row.current} in flight` : 'not in the backend'}`).join('; ');
      if (performance.now() > deadline) throw new DeployError(`${h.name}: ${what} did not happen within ${timeoutMs / 1000} s (${last})`, { host: h.name });
      await sleep(100);
    }
  }

  async function waitHealthy(h: HostSpec): Promise<void> {
    const deadline = performance.now() + (input.healthTimeoutMs ?? 20_000);
    let last = '';
    for (;;) {
      const res = await conn(h).exec({ argv: HEALTH_THROUGH_NGINX });
      const lines = res.stdout.trimEnd().split('\n');
      const code = lines.pop();
      if (code === '200') return;
      last = `HTTP ${code || 'no answer'}: ${lines.join(' ').trim() || res.stderr.trim()}`;
      if (performance.now() > deadline) {
        throw new DeployError(redactor.redact(`${h.name}: /healthz failed after the switch: ${last}`), { host: h.name });
      }
      await sleep(250);
    }
  }

  /**
   * Take one server out, switch it to `id` (recording `previous` for a later rollback), bring it
   * back; returns the time it was out of rotation.
   */
  async function roll(h: HostSpec, id: string, previous: string | null): Promise<number> {
    const c = conn(h);
    const out = performance.now();
    emit({ type: 'server:step', host: h.name, step: 'drain in every load balancer' });
    await setState(h, 'drain');
    emit({ type: 'server:step', host: h.name, step: 'wait for in-flight requests' });
    await waitInLbs(h, (_s, current) => current === 0, input.drainTimeoutMs ?? 15_000, 'draining').catch((err) =>
      warn(`${(err as Error).message}; going on`),
    );
    emit({ type: 'server:step', host: h.name, step: `switch current to ${id}` });
    await must(c, { script: switchCurrent(id, previous) }, 'switching current', redactor);
    emit({ type: 'server:step', host: h.name, step: 'restart the app' });
    await must(c, { argv: RESTART_APP }, 'restarting the app', redactor);
    emit({ type: 'server:step', host: h.name, step: 'wait for /healthz through Nginx' });
    await waitHealthy(h);
    emit({ type: 'server:step', host: h.name, step: 'back in rotation' });
    await setState(h, 'ready');
    await waitInLbs(h, (status) => status.startsWith('UP'), 20_000, 'coming back UP');
    return Math.round(performance.now() - out);
  }
}

function resolveTarget(target: Target, apps: HostSpec[], lists: Map<string, ReleaseList>): string {
  if (target.kind === 'release') return target.release.id;
  if (target.kind === 'named') return target.id;
  const previous = new Set<string>();
  for (const h of apps) {
    const l = lists.get(h.name)!;
    const p = previousRelease(l);
    if (!p) throw new DeployError(`${h.name}: there is no release before ${l.current ?? '(none)'} to roll back to`);
    previous.add(p);
  }
  if (previous.size > 1) throw new DeployError(`the servers disagree on the previous release (${[...previous].join(', ')}); name one with --to`);
  return [...previous][0]!;
}

async function acquireLocks(
  apps: HostSpec[],
  conn: (h: HostSpec) => Connection,
  input: DeployInput,
  now: () => Date,
  warn: (m: string) => void,
): Promise<Map<string, string>> {
  const start = now();
  const info: LockInfo = {
    holder: `${os.userInfo().username}@${os.hostname()} (pid ${process.pid})`,
    since: start.toISOString(),
    until: new Date(start.getTime() + (input.lockTtlMs ?? 30 * 60_000)).toISOString(),
  };
  const body = JSON.stringify(info);
  const held = new Map<string, string>();
  try {
    for (const h of apps) {
      const res = await conn(h).exec({ script: acquireScript(), stdin: body });
      if (res.exitCode === 0) {
        held.set(h.name, body);
        continue;
      }
      if (res.exitCode !== LOCK_HELD) throw new DeployError(`${h.name}: cannot take the deploy lock: ${(res.stderr || res.stdout).trim()}`, { host: h.name });
      const existingText = res.stdout.trim();
      const verdict = lockVerdict(existingText, now(), input.forceUnlock ?? false);
      if (verdict.action === 'refuse') throw new DeployError(`${h.name}: ${verdict.reason}`, { host: h.name });
      warn(`${h.name}: ${verdict.warning}`);
      const over = await conn(h).exec({ script: takeOverScript(existingText), stdin: body });
      if (over.exitCode !== 0) throw new DeployError(`${h.name}: the deploy lock changed hands while taking it over: ${over.stdout.trim()}`);
      held.set(h.name, body);
    }
  } catch (err) {
    await Promise.all([...held].map(([name, b]) => conn(apps.find((a) => a.name === name)!).exec({ script: releaseScript(b) })));
    throw err;
  }
  return held;
}

