// The run lock: one per host, held by every verb that changes hosts (apply, deploy, rollback), so
// that two runs never act on the same host at once. A second run is refused before it changes
// anything, and told who holds the lock. The lock lives as long as the SSH connection that took
// it (src/lock/session-lock.ts): whatever ends the run (success, failure, Ctrl-C, a kill), closing
// the connection ends the lock, with no release command. apply takes it inside each host's first
// fact batch (`gate`), so a no-op apply stays one remote command per host.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostSpec } from '../inventory/types.ts';
import type { Connection } from '../ssh/connection.ts';
import type { Redactor } from '../secrets/secret.ts';
import type { Fact } from '../engine/types.ts';
import { ConnectionError, RunLockedError } from '../errors.ts';
import { failureText, runCommand } from '../engine/commands.ts';
import { lockVerdict, parseLock, releaseScript, type LockInfo } from './lock-file.ts';
import { contention, parseLockReading, runLockScript, type LockReading, type RunLockBody } from './session-lock.ts';

/**
 * Under /run (a tmpfs): a server that reboots, a crash included, comes back with no run lock, since
 * no command of the run that held it can still run there.
 */
export const RUN_LOCK_FILE = '/run/tandem/run.lock';

/** Longer than any run should take: past it, a lock whose connection seems alive (a half-open one) is a leftover. */
export const RUN_LOCK_TTL_SECONDS = 2 * 60 * 60;

/** How long the older of two runs started together waits for the younger's locks to end. */
export const CONTENTION_WAIT_MS = 8000;
const CONTENTION_POLL_MS = 250;

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
  /** Tests: a fixed nonce. */
  nonce?: string;
}

export function runLockInfo(req: RunLockRequest): RunLockBody {
  const since = req.now();
  const until = new Date(since.getTime() + (req.ttlSeconds ?? RUN_LOCK_TTL_SECONDS) * 1000);
  return {
    holder: req.holder,
    pid: req.pid,
    verb: req.verb,
    since: since.toISOString(),
    until: until.toISOString(),
    ...(req.hostId && { hostId: req.hostId }),
    nonce: req.nonce ?? randomBytes(6).toString('hex'),
  };
}

export interface RunLockDeps {
  redactor: Redactor;
  /** A lock taken over: told to the user, not a failure. */
  warn(message: string): void;
  /** Where the lock lives on a host (default RUN_LOCK_FILE; tests use folders of their own). */
  file?(host: string): string;
  /** Tests: the process names standing for the connection (default: OpenSSH's). */
  sessionNames?: readonly string[];
}

/** The run lock of one run: one body (holder, since, nonce) for every host. */
export class RunLocks {
  readonly #file: (host: string) => string;
  /** Locks that could not be tied to their connection: released by `release`. */
  readonly #untied = new Map<string, { conn: Connection; lock: string }>();
  readonly body: RunLockBody;
  constructor(
    private readonly deps: RunLockDeps,
    private readonly req: RunLockRequest,
  ) {
    this.#file = deps.file ?? (() => RUN_LOCK_FILE);
    this.body = runLockInfo(req);
  }

  #script(host: string, expected?: string): string {
    return runLockScript(this.#file(host), this.body, { expected, sessionNames: this.deps.sessionNames });
  }

  /** The section that takes the lock inside a host's first fact batch (read before its facts). */
  fact(host: string): Fact<LockReading> {
    return { id: 'run lock', script: this.#script(host), parse: parseLockReading };
  }

  /**
   * Go on with a host whose lock section read `reading`, or throw RunLockedError. Only on
   * contention (a live lock of another run) does this cost more commands.
   */
  async settle(host: string, conn: Connection, reading: LockReading): Promise<void> {
    const { redactor } = this.deps;
    const deadline = Date.now() + CONTENTION_WAIT_MS;
    for (;;) {
      if (reading.state === 'taken') {
        if (reading.untied) this.#untied.set(host, { conn, lock: reading.untied });
        return;
      }
      if (reading.state === 'error') throw new ConnectionError(`${host}: ${reading.text}`, { host });
      const theirs = parseLock(reading.lock) as Partial<RunLockBody> | undefined;
      const verdict = lockVerdict(reading.lock, this.req.now(), Boolean(this.req.forceUnlock), NAMES);
      let expected: string | undefined;
      if (verdict.action === 'take-over') {
        this.deps.warn(`${host}: ${verdict.warning}`);
        expected = reading.lock;
      } else if (!theirs || contention(this.body, theirs) === 'refuse' || Date.now() > deadline) {
        throw new RunLockedError(`${host}: ${verdict.reason}`, { host, holder: verdict.holder });
      } else {
        await sleep(CONTENTION_POLL_MS);
      }
      const res = await runCommand(conn, { kind: 'script', script: this.#script(host, expected), describe: 'take the run lock' }, redactor);
      reading = parseLockReading(res.stdout, res.exitCode);
    }
  }

  /**
   * Take the lock on every host with a command of its own (deploy, rollback). The first host goes
   * alone, the others then in parallel: of two runs started together, the one that gets the first
   * host gets them all (the other, refused, holds nothing once its connections close). A host
   * that cannot be reached is left to the run (which reports it as unreachable).
   */
  async acquire(hosts: readonly HostSpec[], connect: (host: HostSpec) => Promise<Connection>): Promise<void> {
    const one = async (host: HostSpec) => {
      let conn: Connection;
      try {
        conn = await connect(host);
      } catch (err) {
        if (err instanceof ConnectionError) return;
        throw err;
      }
      const res = await runCommand(conn, { kind: 'script', script: this.#script(host.name), describe: 'take the run lock' }, this.deps.redactor);
      await this.settle(host.name, conn, parseLockReading(res.stdout, res.exitCode));
    };
    const [first, ...rest] = hosts;
    if (first) await one(first);
    const results = await Promise.allSettled(rest.map(one));
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (refused) throw refused.reason;
  }

  /**
   * Give back the locks that could not be tied to their connection (none where the connection's
   * sshd process is found, so no command in the usual case); one that cannot be released is a warning.
   */
  async release(): Promise<void> {
    const untied = [...this.#untied];
    this.#untied.clear();
    await Promise.all(
      untied.map(async ([host, { conn, lock }]) => {
        try {
          await runCommand(conn, { kind: 'script', script: releaseScript(lock, this.#file(host)), describe: 'release the run lock' }, this.deps.redactor);
        } catch (err) {
          this.deps.warn(`${host}: could not release the run lock (${failureText(err, this.deps.redactor, host)}); it stays until ${this.body.until}, or until a run with --force-unlock`);
        }
      }),
    );
  }
}

export type { LockInfo };
