// The named steps of a rolling deploy: lock, upload, drain, switch, health check, re-enable,
// roll back, prune, unlock. Each runs its commands through the engine's runner on the
// connections in the context, so a unit test drives any of them with a fake Connection.
import os from 'node:os';
import type { HostSpec } from '../inventory/types.ts';
import type { Connection, ExecResult } from '../ssh/connection.ts';
import type { Redactor } from '../secrets/secret.ts';
import type { Command } from '../engine/types.ts';
import { failureText, runCommand } from '../engine/commands.ts';
import { TandemError } from '../errors.ts';
import { APP_RELEASES, HAPROXY_BACKEND } from '../stack/names.ts';
import { parseStatCsv } from '../verify/haproxy.ts';
import { releaseUploadScript } from '../ops/release.ts';
import {
  HEALTH_THROUGH_NGINX,
  LIST_RELEASES,
  parseReleaseList,
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

/** A deploy that cannot go on: refused lock, failed health check, a release that is not there. */
export class DeployError extends TandemError {}

export interface ServerReport {
  from?: string;
  to: string;
  status: 'updated' | 'unchanged' | 'rolled back' | 'failed';
  outOfRotationMs: number;
  /** Which batch (from 1) the server was switched in: servers of one batch are out together. */
  batch: number;
}

export type DeployEvent =
  | { type: 'deploy:start'; hosts: string[]; release: string }
  | { type: 'server:step'; host: string; step: string }
  | { type: 'server:done'; host: string; report: ServerReport }
  | { type: 'warn'; message: string };

export interface DeployContext {
  conn(h: HostSpec): Connection;
  redactor: Redactor;
  emit(e: DeployEvent): void;
  /** Something went wrong beside the deploy's result (a lock left, a roll back that failed): told, never dropped. */
  warn(message: string): void;
  /** Every load balancer: each must see a server drained and back UP. */
  lbs: HostSpec[];
  /** Servers in the HAProxy backend; app hosts that are not web servers are switched without draining. */
  webNames: ReadonlySet<string>;
  drainTimeoutMs: number;
  healthTimeoutMs: number;
  upTimeoutMs: number;
  /** Pause between two polls of HAProxy or /healthz. */
  pollMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const script = (text: string, describe: string, extra: Partial<Extract<Command, { kind: 'script' }>> = {}): Command => ({ kind: 'script', script: text, describe, ...extra });

function run(ctx: DeployContext, h: HostSpec, cmd: Command): Promise<ExecResult> {
  return runCommand(ctx.conn(h), cmd, ctx.redactor);
}

// ---- lock / unlock ----------------------------------------------------------------------------

export function lockInfo(now: Date, ttlMs: number): LockInfo {
  return {
    holder: `${os.userInfo().username}@${os.hostname()} (pid ${process.pid})`,
    since: now.toISOString(),
    until: new Date(now.getTime() + ttlMs).toISOString(),
  };
}

/**
 * Take the deploy lock on every app server (an expired one, or any with forceUnlock, is taken
 * over with a warning). Returns what each holds; on a refusal the locks already taken go back.
 */
export async function lock(ctx: DeployContext, apps: HostSpec[], info: LockInfo, now: () => Date, forceUnlock: boolean): Promise<Map<string, string>> {
  const body = JSON.stringify(info);
  const held = new Map<string, string>();
  try {
    for (const h of apps) {
      const res = await run(ctx, h, script(acquireScript(), 'take the deploy lock', { stdin: body, okExitCodes: [0, LOCK_HELD] }));
      if (res.exitCode === 0) {
        held.set(h.name, body);
        continue;
      }
      const existingText = res.stdout.trim();
      const verdict = lockVerdict(existingText, now(), forceUnlock);
      if (verdict.action === 'refuse') throw new DeployError(`${h.name}: ${verdict.reason}`, { host: h.name });
      ctx.warn(`${h.name}: ${verdict.warning}`);
      const over = await run(ctx, h, script(takeOverScript(existingText), 'take over the deploy lock', { stdin: body, okExitCodes: [0, LOCK_HELD] }));
      if (over.exitCode !== 0) throw new DeployError(`${h.name}: the deploy lock changed hands while taking it over: ${over.stdout.trim()}`, { host: h.name });
      held.set(h.name, body);
    }
  } catch (err) {
    await unlock(ctx, apps, held);
    throw err;
  }
  return held;
}

/** Release the locks we hold. One that cannot be released is a warning saying how to clear it. */
export async function unlock(ctx: DeployContext, apps: HostSpec[], held: ReadonlyMap<string, string>): Promise<void> {
  await Promise.all(
    [...held].map(async ([name, body]) => {
      const h = apps.find((a) => a.name === name)!;
      try {
        await run(ctx, h, script(releaseScript(body), 'release the deploy lock'));
      } catch (err) {
        const { until } = JSON.parse(body) as LockInfo;
        ctx.warn(`${name}: could not release the deploy lock (${failureText(err, ctx.redactor, name)}); it stays until ${until}, or until a deploy with --force-unlock`);
      }
    }),
  );
}

// ---- releases ---------------------------------------------------------------------------------

export async function listReleases(ctx: DeployContext, h: HostSpec): Promise<ReleaseList> {
  return parseReleaseList((await run(ctx, h, script(LIST_RELEASES, 'list the releases'))).stdout);
}

export async function upload(ctx: DeployContext, h: HostSpec, id: string, tarball: Buffer): Promise<void> {
  ctx.emit({ type: 'server:step', host: h.name, step: `upload release ${id}` });
  await run(ctx, h, script(releaseUploadScript(`${APP_RELEASES}/${id}`), `upload release ${id}`, { stdin: tarball, deadline: 'long' }));
}

/** Remove a release this deploy uploaded and that failed, so it never becomes a rollback target. */
export async function removeFailed(ctx: DeployContext, h: HostSpec, id: string): Promise<void> {
  ctx.emit({ type: 'server:step', host: h.name, step: `remove the failed release ${id}` });
  await run(ctx, h, script(removeFailedRelease(id), `remove the failed release ${id}`));
}

/** Old releases beyond `keep`, never current, the one before it nor the rollback target. */
export async function prune(ctx: DeployContext, h: HostSpec, keep: number): Promise<void> {
  const old = releasesToPrune(await listReleases(ctx, h), keep);
  if (old.length === 0) return;
  ctx.emit({ type: 'server:step', host: h.name, step: `remove old releases ${old.join(', ')}` });
  await run(ctx, h, { kind: 'exec', argv: pruneReleases(old) });
}

// ---- one server out of rotation and back --------------------------------------------------------

async function setState(ctx: DeployContext, h: HostSpec, state: ServerState): Promise<void> {
  await Promise.all(ctx.lbs.map((lb) => run(ctx, lb, script(setServerState(HAPROXY_BACKEND, h.name, state), `set ${h.name} to ${state} in HAProxy`))));
}

/** Poll every load balancer until `ok` holds for this server in all of them, or time out. */
async function waitInLbs(ctx: DeployContext, h: HostSpec, ok: (status: string, current: number) => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(
      ctx.lbs.map(async (lb) => {
        const res = await run(ctx, lb, script(SHOW_STAT, "read HAProxy's stats"));
        return { lb: lb.name, row: parseStatCsv(res.stdout).find((s) => s.backend === HAPROXY_BACKEND && s.server === h.name) };
      }),
    );
    if (views.every((v) => v.row && ok(v.row.status, v.row.current))) return;
    if (performance.now() >= deadline) {
      const seen = views.map((v) => `${v.lb}: ${v.row ? `${v.row.status}, ${v.row.current} in flight` : 'not in the backend'}`).join('; ');
      throw new DeployError(`${h.name}: ${what} did not happen within ${timeoutMs / 1000} s (${seen})`, { host: h.name });
    }
    await sleep(ctx.pollMs);
  }
}

/** Drain the server in every HAProxy and wait for its requests in flight (going on, with a warning, after the bound). */
export async function drain(ctx: DeployContext, h: HostSpec): Promise<void> {
  if (!ctx.webNames.has(h.name)) return;
  ctx.emit({ type: 'server:step', host: h.name, step: 'drain in every load balancer' });
  await setState(ctx, h, 'drain');
  ctx.emit({ type: 'server:step', host: h.name, step: 'wait for in-flight requests' });
  await waitInLbs(ctx, h, (_s, current) => current === 0, ctx.drainTimeoutMs, 'draining').catch((err) => ctx.warn(`${failureText(err, ctx.redactor)}; going on`));
}

/** Point `current` at the release (recording `previous`) and restart the app on it. */
export async function switchTo(ctx: DeployContext, h: HostSpec, id: string, previous: string | null): Promise<void> {
  ctx.emit({ type: 'server:step', host: h.name, step: `switch current to ${id}` });
  await run(ctx, h, script(switchCurrent(id, previous), `switch current to ${id}`));
  ctx.emit({ type: 'server:step', host: h.name, step: 'restart the app' });
  await run(ctx, h, { kind: 'exec', argv: RESTART_APP });
}

/** Wait (bounded) for /healthz through the server's own Nginx to answer 200. */
export async function healthCheck(ctx: DeployContext, h: HostSpec): Promise<void> {
  ctx.emit({ type: 'server:step', host: h.name, step: 'wait for /healthz through Nginx' });
  const deadline = performance.now() + ctx.healthTimeoutMs;
  for (;;) {
    // curl failing (nothing listens yet) is an answer too: the output is read whatever the exit code.
    const res = await run(ctx, h, { kind: 'exec', argv: HEALTH_THROUGH_NGINX, okExitCodes: 'any' });
    const lines = res.stdout.trimEnd().split('\n');
    const code = lines.pop();
    if (code === '200') return;
    if (performance.now() >= deadline) {
      const last = `HTTP ${code || 'no answer'}: ${lines.join(' ').trim() || res.stderr.trim()}`;
      throw new DeployError(ctx.redactor.redact(`${h.name}: /healthz failed after the switch: ${last}`), { host: h.name });
    }
    await sleep(ctx.pollMs);
  }
}

/** Back in every HAProxy, and wait until each sees it UP. */
export async function enable(ctx: DeployContext, h: HostSpec): Promise<void> {
  if (!ctx.webNames.has(h.name)) return;
  ctx.emit({ type: 'server:step', host: h.name, step: 'back in rotation' });
  await setState(ctx, h, 'ready');
  await waitInLbs(ctx, h, (status) => status.startsWith('UP'), ctx.upTimeoutMs, 'coming back UP');
}

/** Drain, switch, health check, re-enable: one server to `id`; returns the time it was out of rotation. */
export async function roll(ctx: DeployContext, h: HostSpec, id: string, previous: string | null): Promise<number> {
  const out = performance.now();
  await drain(ctx, h);
  await switchTo(ctx, h, id, previous);
  await healthCheck(ctx, h);
  await enable(ctx, h);
  return Math.round(performance.now() - out);
}

/**
 * Put a server back on the release it ran (and `previous` as it was), the same rolling way.
 * Returns the time out of rotation, or undefined when that failed too (then a warning says so).
 */
export async function rollBack(ctx: DeployContext, h: HostSpec, before: ReleaseList): Promise<number | undefined> {
  if (!before.current) return 0;
  ctx.emit({ type: 'server:step', host: h.name, step: `roll back to ${before.current}` });
  try {
    return await roll(ctx, h, before.current, before.previous ?? null);
  } catch (err) {
    ctx.warn(`${h.name}: could not go back to ${before.current}: ${failureText(err, ctx.redactor, h.name)}; put it back with \`tandem rollback --to ${before.current}\``);
    return undefined;
  }
}
