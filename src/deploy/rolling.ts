// Rolling release switch: server by server (or N at a time) drain it in every HAProxy, wait for
// its in-flight requests, switch `current`, restart the app, wait for /healthz through Nginx, put
// it back and wait until every HAProxy sees it UP before touching the next one. A failed health
// check puts that server back on its previous release and rolls back the servers already done.
// The steps themselves live in steps.ts; this file decides their order.
import { readFileSync } from 'node:fs';
import type { HostSpec, Inventory } from '../inventory/types.ts';
import type { Connection } from '../ssh/connection.ts';
import type { Redactor } from '../secrets/secret.ts';
import { UsageError } from '../errors.ts';
import { failureText } from '../engine/commands.ts';
import { withRole } from '../stack/roles.ts';
import type { Release } from '../release/prepare.ts';
import { previousRelease, type ReleaseList } from './commands.ts';
import {
  DeployError,
  listReleases,
  lock,
  lockInfo,
  prune,
  removeFailed,
  roll,
  rollBack,
  unlock,
  upload,
  type DeployContext,
  type DeployEvent,
  type ServerReport,
} from './steps.ts';

export { DeployError, type DeployEvent, type ServerReport } from './steps.ts';

export interface DeployReport {
  ok: boolean;
  /** Stopped by the user (Ctrl-C); what it had switched was put back. */
  interrupted?: boolean;
  release: string;
  servers: Record<string, ServerReport>;
  /** What went wrong beside the result: a lock that stayed, a server that could not go back. */
  warnings: string[];
  error?: string;
  durationMs: number;
}

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
  /** Pause between two polls of HAProxy or /healthz (tests use 0). */
  pollMs?: number;
  now?: () => Date;
  /**
   * Aborted (Ctrl-C): the servers in progress finish their switch and come back into rotation,
   * then every server this deploy switched goes back, as after a failed health check.
   */
  signal?: AbortSignal;
}

/** Refuses, before anything is built or contacted, a scope with no app host or a batch that would empty the pool. */
export function checkDeployScope(inventory: Inventory, hosts: readonly HostSpec[], batch: number): void {
  const apps = withRole(hosts, 'app');
  if (apps.length === 0) throw new UsageError('no app host in scope (see --limit): nothing to deploy');
  const webNames = new Set(withRole(inventory.hosts, 'web').map((h) => h.name));
  const inRotation = apps.filter((h) => webNames.has(h.name)).length;
  if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch must be a whole number of at least 1, not ${batch}`);
  if (inRotation > 0 && batch >= webNames.size) {
    throw new UsageError(`--batch ${batch} would take every web server out of rotation at once (there are ${webNames.size}); use at most ${webNames.size - 1}`);
  }
}

export async function rollingDeploy(input: DeployInput): Promise<DeployReport> {
  const t0 = performance.now();
  const { emit, redactor } = input;
  const now = input.now ?? (() => new Date());
  checkDeployScope(input.inventory, input.hosts, input.batch ?? 1);
  const apps = withRole(input.hosts, 'app');
  const lbs = withRole(input.inventory.hosts, 'lb');
  const webNames = new Set(withRole(input.inventory.hosts, 'web').map((h) => h.name));
  const batch = input.batch ?? 1;
  const conns = new Map<string, Connection>();
  for (const h of [...apps, ...lbs]) if (!conns.has(h.name)) conns.set(h.name, await input.connect(h));
  const warnings: string[] = [];
  const ctx: DeployContext = {
    conn: (h) => conns.get(h.name)!,
    redactor,
    emit,
    warn: (message) => {
      warnings.push(message);
      emit({ type: 'warn', message });
    },
    lbs,
    webNames,
    drainTimeoutMs: input.drainTimeoutMs ?? 15_000,
    healthTimeoutMs: input.healthTimeoutMs ?? 20_000,
    upTimeoutMs: 20_000,
    pollMs: input.pollMs ?? 100,
  };

  const locks = await lock(ctx, apps, lockInfo(now(), input.lockTtlMs ?? 30 * 60_000), now, input.forceUnlock ?? false);
  const report: DeployReport = { ok: false, release: '', servers: {}, warnings, durationMs: 0 };
  try {
    const lists = new Map<string, ReleaseList>();
    for (const h of apps) lists.set(h.name, await listReleases(ctx, h));
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
      const missing = apps.filter((h) => !lists.get(h.name)!.releases.includes(targetId));
      uploaded.push(...missing);
      await Promise.all(missing.map((h) => upload(ctx, h, targetId, tar)));
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
        const ms = await rollBack(ctx, h, before);
        const earlier = report.servers[h.name]!;
        report.servers[h.name] =
          ms === undefined
            ? { ...earlier, status: 'failed' }
            : { from: targetId, to: before.current!, status: 'rolled back', outOfRotationMs: ms + earlier.outOfRotationMs, batch: earlier.batch };
        emit({ type: 'server:done', host: h.name, report: report.servers[h.name]! });
      }
      // A failed release left on disk would be the next `rollback`'s target.
      for (const h of uploaded) await removeFailed(ctx, h, targetId).catch((err) => ctx.warn(failureText(err, redactor)));
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
          const before = lists.get(h.name)!;
          const from = before.current;
          if (from === targetId) {
            const r: ServerReport = { from, to: targetId, status: 'unchanged', outOfRotationMs: 0, batch: batchNo };
            report.servers[h.name] = r;
            emit({ type: 'server:done', host: h.name, report: r });
            return;
          }
          try {
            const ms = await roll(ctx, h, targetId, from ?? null);
            done.push(h);
            const r: ServerReport = { from, to: targetId, status: 'updated', outOfRotationMs: ms, batch: batchNo };
            report.servers[h.name] = r;
            emit({ type: 'server:done', host: h.name, report: r });
          } catch (err) {
            // Put this server back on what it ran, then let the caller roll the others back.
            const back = await rollBack(ctx, h, before);
            const r: ServerReport = { from, to: from ?? targetId, status: 'failed', outOfRotationMs: back ?? 0, batch: batchNo };
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
    for (const h of apps) await prune(ctx, h, input.inventory.app.keepReleases);
    report.ok = true;
  } catch (err) {
    report.error = failureText(err, redactor);
  } finally {
    await unlock(ctx, apps, locks);
    report.durationMs = Math.round(performance.now() - t0);
  }
  return report;
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

