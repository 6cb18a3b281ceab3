// The run lock: one per host, held by every verb that changes hosts (apply, deploy, rollback), so
// that two runs never act on the same host at once. A second run is refused before it changes
// anything, and told who holds the lock. Released when the run's connections close, whatever
// ended the run (success, failure, Ctrl-C); a run killed outright leaves it until it expires.
import type { HostSpec } from '../inventory/types.ts';
import type { Connection } from '../ssh/connection.ts';
import type { Redactor } from '../secrets/secret.ts';
import { ConnectionError, RunLockedError } from '../errors.ts';
import { failureText, runCommand } from '../engine/commands.ts';
import { acquireScript, describeLock, LOCK_HELD, lockVerdict, parseLock, releaseScript, takeOverScript, type LockInfo, type LockVerdict } from './lock-file.ts';

/**
 * Under /run (a tmpfs): a server that reboots, a crash included, comes back with no run lock, since
 * no command of the run that held it can still run there.
 */
export const RUN_LOCK_FILE = '/run/tandem/run.lock';

/** Longer than any run should take (a fresh apply of a large fleet included): past it, a lock is a leftover. */
export const RUN_LOCK_TTL_SECONDS = 2 * 60 * 60;

const NAMES = { name: 'run lock', heldBy: 'another tandem run holds the run lock' };

export interface RunLockRequest {
  verb: string;
  /** user@control-host */
  holder: string;
  /** The control host's machine id, when it has one. */
  hostId?: string;
  pid: number;
  now: () => Date;
  forceUnlock?: boolean;
  ttlSeconds?: number;
  /** The holder's run is known to be gone (its process on this control host no longer runs): take over. */
  holderGone?(lock: LockInfo): boolean;
}

export function runLockInfo(req: RunLockRequest): LockInfo {
  const since = req.now();
  const until = new Date(since.getTime() + (req.ttlSeconds ?? RUN_LOCK_TTL_SECONDS) * 1000);
  return { holder: req.holder, pid: req.pid, verb: req.verb, since: since.toISOString(), until: until.toISOString(), ...(req.hostId && { hostId: req.hostId }) };
}

export interface RunLockDeps {
  connect(host: HostSpec): Promise<Connection>;
  redactor: Redactor;
  /** A lock taken over, or one that could not be released: told to the user, not a failure. */
  warn(message: string): void;
  /** Where the lock lives on a host (default RUN_LOCK_FILE; tests use folders of their own). */
  file?(host: string): string;
}

/** The run locks this run holds, by host: what `release` gives back. */
export class RunLocks {
  readonly #held = new Map<string, { conn: Connection; body: string }>();
  readonly #file: (host: string) => string;
  constructor(private readonly deps: RunLockDeps) {
    this.#file = deps.file ?? (() => RUN_LOCK_FILE);
  }

  get hosts(): string[] {
    return [...this.#held.keys()];
  }

  /**
   * Take the lock on every host. The first host goes alone, the others then in parallel: of two
   * runs started together over the same hosts, the one that gets the first host gets them all,
   * and the other is refused without holding anything. A host that cannot be reached is left to
   * the run (which reports it as unreachable). On a refusal, the locks taken go back.
   */
  async acquire(hosts: readonly HostSpec[], req: RunLockRequest): Promise<void> {
    const body = JSON.stringify(runLockInfo(req));
    const [first, ...rest] = hosts;
    try {
      if (first) await this.#acquireOne(first, body, req);
      const results = await Promise.allSettled(rest.map((h) => this.#acquireOne(h, body, req)));
      const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (refused) throw refused.reason;
    } catch (err) {
      await this.release();
      throw err;
    }
  }

  async #acquireOne(host: HostSpec, body: string, req: RunLockRequest): Promise<void> {
    let conn: Connection;
    try {
      conn = await this.deps.connect(host);
    } catch (err) {
      if (err instanceof ConnectionError) return;
      throw err;
    }
    const { redactor } = this.deps;
    const take = await runCommand(conn, { kind: 'script', script: acquireScript(this.#file(host.name)), stdin: body, okExitCodes: [0, LOCK_HELD], describe: 'take the run lock' }, redactor);
    if (take.exitCode === 0) {
      this.#held.set(host.name, { conn, body });
      return;
    }
    const existing = take.stdout.trim();
    const parsed = parseLock(existing);
    const verdict: LockVerdict =
      parsed && req.holderGone?.(parsed)
        ? { action: 'take-over', warning: `taking over a run lock whose run is gone (pid ${parsed.pid} no longer runs here): ${describeLock(parsed)}` }
        : lockVerdict(existing, req.now(), Boolean(req.forceUnlock), NAMES);
    if (verdict.action === 'refuse') throw new RunLockedError(`${host.name}: ${verdict.reason}`, { host: host.name, holder: verdict.holder });
    this.deps.warn(`${host.name}: ${verdict.warning}`);
    const over = await runCommand(conn, { kind: 'script', script: takeOverScript(existing, this.#file(host.name)), stdin: body, okExitCodes: [0, LOCK_HELD], describe: 'take over the run lock' }, redactor);
    if (over.exitCode !== 0) {
      throw new RunLockedError(`${host.name}: the run lock changed hands while taking it over: ${over.stdout.trim()}`, { host: host.name, holder: over.stdout.trim() });
    }
    this.#held.set(host.name, { conn, body });
  }

  /** Give back every lock held; one that cannot be released is a warning saying until when it stays. */
  async release(): Promise<void> {
    const held = [...this.#held];
    this.#held.clear();
    await Promise.all(
      held.map(async ([name, { conn, body }]) => {
        try {
          await runCommand(conn, { kind: 'script', script: releaseScript(body, this.#file(name)), describe: 'release the run lock' }, this.deps.redactor);
        } catch (err) {
          const { until } = JSON.parse(body) as LockInfo;
          this.deps.warn(`${name}: could not release the run lock (${failureText(err, this.deps.redactor, name)}); it stays until ${until}, or until a run with --force-unlock`);
        }
      }),
    );
  }
}
