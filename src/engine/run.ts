// The planner and executor: first contact with every host (its facts for the whole run in one
// batch), then units of work (one host's ops of one phase, then its handlers) as soon as the
// units they need are done: a host never waits for work it does not need, and a failure skips
// only the work that needs it (src/engine/schedule.ts). Ops run in order; a change marks facts
// stale (with the facts that depend on them) and only stale facts are re-read, again in one
// batch, before the next op that needs them.
import type { HostSpec } from '../inventory/types.ts';
import type { Connection } from '../ssh/connection.ts';
import { backupPath } from '../ssh/connection.ts';
import { sh } from '../ssh/shell.ts';
import type { Redactor } from '../secrets/secret.ts';
import { ConnectionError, InterruptedError, TandemError } from '../errors.ts';
import { describeCommand, failureText, runCommand } from './commands.ts';
import { batchScript, FactCache, isPeerFact, newToken, splitBatch, uniqueFacts } from './facts.ts';
import { markerFile, markPendingScript, pendingHandlersFact } from './pending.ts';
import { buildUnits, nextUnit, peerHostsOf, skipReason, type Settled, type Unit } from './schedule.ts';
import type { EventSink, HandlerResult, HostReport, Mode, OpResult, RunReport } from './events.ts';
import { PHASES, type Fact, type Handler, type HostWork, type Phase } from './types.ts';
import { Timings } from './timings.ts';

export interface RunInput {
  mode: Mode;
  hosts: HostSpec[];
  /** What each host has to do, by phase. */
  work: ReadonlyMap<string, HostWork[]>;
  connect(host: HostSpec): Promise<Connection>;
  redactor: Redactor;
  emit: EventSink;
  /** How many units of work (so hosts) run at once. */
  concurrency?: number;
  /** Where each host's time goes (connect, facts, plan, apply, handlers); not kept if absent. */
  timings?: Timings;
  /** Aborted (Ctrl-C): no op or handler starts any more; the commands running end on their own. */
  signal?: AbortSignal;
  /**
   * Read first in the first fact batch of each host with work (the run lock): `admit` lets the
   * host go on, or throws, and then the whole run stops before any unit starts, throwing that error.
   */
  gate?: FirstContactGate;
}

export interface FirstContactGate {
  fact(host: string): Fact<unknown>;
  admit(host: string, conn: Connection, reading: unknown): Promise<void>;
}

/** Stop here, before starting `what`, when the run was interrupted. */
function checkInterrupted(signal: AbortSignal | undefined, host: string, what: string): void {
  if (signal?.aborted) throw new InterruptedError(`interrupted before ${what}`, { host });
}

interface HostState {
  spec: HostSpec;
  conn?: Connection;
  facts: FactCache;
  /** Changes this run made on this host (apply): a host that needs its work re-reads what it depends on. */
  changes: number;
  /** Another host's `changes` when this host last read the facts of work that needs that host. */
  seenChanges: Map<string, number>;
  /** Plan mode: facts that the changes planned so far on this host would make stale. */
  planStale: 'all' | Set<string>;
  failed: boolean;
  report: HostReport;
  /** Handlers an earlier run left owed on this host (read once, at first contact). */
  pendingHandlers: Set<string>;
}

/** A failure already counted in the host's report (an op or handler result). */
class CountedFailure extends TandemError {}

export async function run(input: RunInput): Promise<RunReport> {
  const started = performance.now();
  const { emit, redactor } = input;
  const units = buildUnits(input.hosts.map((h) => h.name), input.work);
  const phases = PHASES.filter((p) => units.some((u) => u.phase === p));
  const states = new Map<string, HostState>(
    input.hosts.map((h) => [
      h.name,
      {
        spec: h,
        facts: new FactCache(),
        changes: 0,
        seenChanges: new Map(),
        planStale: new Set(),
        failed: false,
        report: { ok: 0, changed: 0, failed: 0, ops: [], handlers: [], warnings: [], skipped: [] },
        pendingHandlers: new Set(),
      },
    ]),
  );
  emit({ type: 'run:start', mode: input.mode, hosts: input.hosts.map((h) => h.name), phases });
  const fail = (state: HostState, phase: Phase, err: unknown) => {
    state.failed = true;
    if (!(err instanceof CountedFailure)) state.report.failed++;
    const text = failureText(err, redactor);
    // A host may fail more than one unit now that a failure stops only what needs it.
    state.report.error = state.report.error ? `${state.report.error}; ${text}` : text;
    emit({ type: 'host:failed', host: state.spec.name, phase, error: text });
  };

  // First contact with every host before any work: so the checks see every host's facts (their
  // own, and other hosts' through peer facts) before anything changes anywhere.
  const requests = peerRequests(input);
  const peers = new Map<string, unknown>();
  const contacted = input.hosts.filter((h) => input.work.get(h.name)?.length || requests.has(h.name));
  const unreached = new Set<string>();
  const refused = new Map<string, unknown>();
  await eachLimited(contacted, input.concurrency ?? 10, async (h) => {
    const state = states.get(h.name)!;
    const gate = input.gate && input.work.get(h.name)?.length ? input.gate : undefined;
    let reading: unknown;
    try {
      reading = await firstContact(input, state, requests.get(h.name) ?? [], peers, gate?.fact(h.name));
    } catch (err) {
      unreached.add(h.name);
      fail(state, phases[0] ?? 'base', err);
      return;
    }
    if (gate) await gate.admit(h.name, state.conn!, reading).catch((err: unknown) => refused.set(h.name, err));
  });
  // Like a failed check, a refused gate changes nothing anywhere; the first host's reason is told.
  const refusal = input.hosts.find((h) => refused.has(h.name));
  if (refusal) {
    // Every host's view ends (a live progress display waits for it), then the run stops.
    for (const h of input.hosts) {
      const why = refused.has(h.name) ? failureText(refused.get(h.name), redactor) : `stopped before any change: ${refusal.name} refused the run`;
      emit({ type: 'host:failed', host: h.name, phase: phases[0] ?? 'base', error: why });
      emit({ type: 'host:end', host: h.name, failed: true });
    }
    throw refused.get(refusal.name);
  }

  // Each host takes its next unit whose needs are done; a host with none ready waits until some
  // unit, anywhere, settles.
  const settled = new Map<string, Settled>();
  let wake: () => void = () => {};
  let someSettled = new Promise<void>((resolve) => (wake = resolve));
  const wakeAll = () => {
    const woken = wake;
    someSettled = new Promise<void>((resolve) => (wake = resolve));
    woken();
  };
  const settle = (unit: Unit, how: Settled) => {
    settled.set(unit.key, how);
    wakeAll();
  };
  // A host waiting for another's unit must not wait forever once nothing new starts.
  input.signal?.addEventListener('abort', wakeAll, { once: true });
  for (const unit of units) if (unreached.has(unit.host)) settle(unit, 'unreached');
  const phasesStarted = new Set<Phase>();
  const slot = limiter(input.concurrency ?? 10);

  await Promise.all(
    input.hosts.map(async (h) => {
      const state = states.get(h.name)!;
      for (;;) {
        const waiting = units.filter((u) => u.host === h.name && !settled.has(u.key));
        // Interrupted: no new unit starts (the ones running stop before their next op).
        if (waiting.length === 0 || input.signal?.aborted) return;
        const woken = someSettled;
        const unit = nextUnit(waiting, settled);
        if (!unit) {
          await woken;
          continue;
        }
        const why = skipReason(unit, settled);
        if (why) {
          (state.report.skipped ??= []).push({ phase: unit.phase, reason: why });
          emit({ type: 'work:skipped', host: h.name, phase: unit.phase, reason: why });
          settle(unit, 'skipped');
          continue;
        }
        if (!phasesStarted.has(unit.phase)) {
          phasesStarted.add(unit.phase);
          emit({ type: 'phase:start', phase: unit.phase, hosts: units.filter((u) => u.phase === unit.phase && !settled.has(u.key)).map((u) => u.host) });
        }
        const ok = await slot(async () => {
          try {
            await runUnit(input, state, unit, states, peers);
            return true;
          } catch (err) {
            fail(state, unit.phase, err);
            return false;
          }
        });
        settle(unit, ok ? 'done' : 'failed');
      }
    }),
  );

  const report: RunReport = {
    mode: input.mode,
    summary: { ok: 0, changed: 0, failed: 0 },
    hosts: {},
    roundTrips: {},
    durationMs: 0,
  };
  for (const [name, s] of states) {
    emit({ type: 'host:end', host: name, failed: s.failed });
    report.hosts[name] = s.report;
    report.roundTrips[name] = s.conn?.roundTrips ?? 0;
    report.summary.ok += s.report.ok;
    report.summary.changed += s.report.changed;
    report.summary.failed += s.report.failed;
  }
  report.durationMs = Math.round(performance.now() - started);
  emit({ type: 'run:end', report });
  return report;
}

/** The facts each host must read at first contact for other hosts' peer facts. */
function peerRequests(input: RunInput): Map<string, Fact<unknown>[]> {
  const inRun = new Set(input.hosts.map((h) => h.name));
  const requests = new Map<string, Fact<unknown>[]>();
  for (const works of input.work.values()) {
    for (const f of works.flatMap((w) => w.ops.flatMap((o) => o.facts))) {
      if (isPeerFact(f) && inRun.has(f.peer.host)) requests.set(f.peer.host, [...(requests.get(f.peer.host) ?? []), f.peer.fact]);
    }
  }
  return requests;
}

const peerKey = (host: string, factId: string) => `${host}\0${factId}`;

/** Connect, and read the facts of every phase at once (so a no-op run is one round trip), and those other hosts asked for. */
async function firstContact(input: RunInput, state: HostState, requested: Fact<unknown>[], peers: Map<string, unknown>, gateFact?: Fact<unknown>): Promise<unknown> {
  const host = state.spec.name;
  input.emit({ type: 'host:connect', host });
  const time = (input.timings ?? new Timings()).host(host);
  state.conn = await time.time('connect', () => input.connect(state.spec));
  const pendingFact = pendingHandlersFact(state.conn.backupRoot);
  const own = (input.work.get(host) ?? []).flatMap((w) => w.ops.flatMap((o) => o.facts)).filter((f) => !isPeerFact(f));
  state.facts.know(own);
  const conn = state.conn;
  // The gate's section comes first: the lock is taken before any fact is read.
  await time.time('facts', () => gather(conn, state.facts, [...(gateFact ? [gateFact] : []), pendingFact, ...own, ...requested], peers));
  state.pendingHandlers = state.facts.get(pendingFact);
  for (const f of requested) peers.set(peerKey(host, f.id), state.facts.get(f));
  return gateFact && state.facts.get(gateFact);
}

/** Plan mode: note what a planned change (or the handler it notifies) would make stale on this host. */
function markPlanStale(state: HostState, ids: 'all' | readonly string[]): void {
  if (ids === 'all' || state.planStale === 'all') state.planStale = 'all';
  else for (const id of state.facts.staleAfter(ids)) state.planStale.add(id);
}

async function runUnit(input: RunInput, state: HostState, unit: Unit, states: ReadonlyMap<string, HostState>, peers: Map<string, unknown>) {
  const { emit, redactor, mode } = input;
  const { phase, ops, handlers } = unit;
  const host = state.spec.name;
  const conn = state.conn!;
  const time = (input.timings ?? new Timings()).host(host);
  /** Something that went wrong beside the failure itself (a restore, a cleanup): told, never dropped. */
  const warn = (message: string) => {
    const text = `${phase}: ${redactor.redact(message)}`;
    state.report.warnings.push(text);
    emit({ type: 'host:warning', host, message: text });
  };
  emit({ type: 'host:phase', host, phase, ops: ops.length });

  // Work that needs another host's work may read what that work changed there (a replica's
  // replication status once its primary runs): re-read this unit's facts if that host changed.
  for (const other of peerHostsOf(unit)) {
    const now = states.get(other)?.changes ?? 0;
    if (now > (state.seenChanges.get(other) ?? 0)) {
      state.facts.invalidate(ops.flatMap((o) => o.facts).filter((f) => !isPeerFact(f)).map((f) => f.id));
      state.seenChanges.set(other, now);
    }
  }

  const notified = new Set<string>();
  const backups = new Map<string, string[]>();
  /** Handlers with a marker on the host (left by an earlier run, or written by this one). */
  const marked = new Set<string>();
  const owed = handlers.filter((h) => state.pendingHandlers.has(h.id)).map((h) => h.id);
  for (const id of owed) {
    state.pendingHandlers.delete(id);
    marked.add(id);
    if (mode === 'apply') notified.add(id);
    else {
      const result: OpResult = { host, phase, op: `handler ${id}`, status: 'changed', summary: 'owed by an earlier apply that stopped before running it: apply runs it', durationMs: 0 };
      record(state.report, result);
      emit({ type: 'op:end', ...result });
    }
  }
  const stalePlanned = (op: (typeof ops)[number]) => state.planStale === 'all' || op.facts.some((f) => (state.planStale as Set<string>).has(f.id));

  for (const op of ops) {
    checkInterrupted(input.signal, host, op.id);
    emit({ type: 'op:start', host, phase, op: op.id });
    const t0 = performance.now();
    const result: OpResult = { host, phase, op: op.id, status: 'ok', durationMs: 0 };
    try {
      const missing = ops.slice(ops.indexOf(op)).flatMap((o) => o.facts).filter((f) => !state.facts.has(f.id));
      if (op.facts.some((f) => !state.facts.has(f.id))) await time.time('facts', () => gather(conn, state.facts, missing, peers));
      let change;
      try {
        change = time.time('plan', () => op.plan(state.facts));
      } catch (err) {
        // In a plan, facts that the changes above would change are not evidence yet: an op that
        // refuses on them (a database that is not running yet) is pending, not failed.
        if (mode !== 'plan' || !stalePlanned(op)) throw err;
        change = null;
      }
      if (!change) {
        if (mode === 'plan' && stalePlanned(op)) {
          result.status = 'pending';
          result.summary = 'depends on the changes above; known after they are applied';
        }
      } else {
        result.status = 'changed';
        result.summary = redactor.redact(change.summary);
        if (change.diff) result.diff = redactor.redact(change.diff);
        result.commands = change.commands.map((c) => describeCommand(c, redactor));
        const invalidates = change.invalidates ?? 'all';
        if (mode === 'plan') {
          markPlanStale(state, invalidates);
          for (const h of handlers.filter((h) => op.notify?.includes(h.id) && h.invalidates)) markPlanStale(state, h.invalidates!);
        } else {
          // The marker goes first: if this run dies after the change, the next one still reloads.
          const unmarked = (op.notify ?? []).filter((id) => !marked.has(id));
          if (unmarked.length) {
            await time.time('apply', () => runCommand(conn, { kind: 'script', script: markPendingScript(conn.backupRoot, unmarked), describe: 'note the handlers owed' }, redactor));
            unmarked.forEach((id) => marked.add(id));
          }
          for (const cmd of change.commands) {
            await time.time('apply', () => runCommand(conn, cmd, redactor));
            if (cmd.kind === 'put' && cmd.backup) {
              for (const h of op.notify ?? []) backups.set(h, [...(backups.get(h) ?? []), cmd.path]);
            }
          }
          state.facts.invalidate(invalidates);
          state.changes++;
          for (const h of op.notify ?? []) notified.add(h);
        }
      }
    } catch (err) {
      result.status = 'failed';
      result.error = failureText(err, redactor, host);
    }
    result.durationMs = Math.round(performance.now() - t0);
    record(state.report, result);
    emit({ type: 'op:end', ...result });
    if (result.status === 'failed') {
      // Leave the services alone but do not keep half-validated files around.
      await restoreFiles(conn, [...new Set([...backups.values()].flat())], [], redactor).catch((err) => warn(failureText(err, redactor, host)));
      throw new CountedFailure(`${host}: ${op.id}: ${result.error}`, { host });
    }
  }

  if (mode === 'apply') {
    for (const handler of handlers.filter((h) => notified.has(h.id))) {
      checkInterrupted(input.signal, host, `handler ${handler.id}`);
      const wasOwed = owed.includes(handler.id);
      const res = await time.time('handlers', () => runHandler(conn, handler, backups.get(handler.id) ?? [], redactor, host, phase, wasOwed, warn));
      if (wasOwed) res.owed = true;
      state.report.handlers.push(res);
      emit({ type: 'handler:end', ...res });
      // Whether it failed or not, the action may have run: what its service's facts said is stale.
      if (handler.invalidates) state.facts.invalidate(handler.invalidates);
      state.changes++;
      if (res.status === 'failed') {
        state.report.failed++;
        throw new CountedFailure(`${host}: handler ${handler.id}: ${res.error}`, { host });
      }
    }
  }
}

function record(report: HostReport, r: OpResult): void {
  report.ops.push(r);
  if (r.status === 'ok') report.ok++;
  else if (r.status === 'changed' || r.status === 'pending') report.changed++;
  else report.failed++;
}

async function runHandler(
  conn: Connection,
  handler: Handler,
  files: string[],
  redactor: Redactor,
  host: string,
  phase: Phase,
  /** Owed by an earlier run: files it wrote were never validated, and no backup of ours predates them. */
  wasOwed: boolean,
  warn: (message: string) => void,
): Promise<HandlerResult> {
  const t0 = performance.now();
  const done = (status: 'changed' | 'failed', error?: string): HandlerResult => ({
    host,
    phase,
    handler: handler.id,
    status,
    error,
    durationMs: Math.round(performance.now() - t0),
  });
  const marker = markerFile(conn.backupRoot, handler.id);
  if (handler.validate) {
    try {
      await runCommand(conn, handler.validate, redactor);
    } catch (err) {
      // Our backups are back, so the running service matches the files: nothing is owed any
      // more. Unless an earlier run wrote them unvalidated: then the failure must show again.
      try {
        await restoreFiles(conn, files, wasOwed ? [] : [marker], redactor);
      } catch (restoreErr) {
        warn(`could not put the previous files back (${files.join(', ')}): ${failureText(restoreErr, redactor, host)}`);
        return done('failed', `validation failed, and putting the previous files back failed too (see the warning): ${failureText(err, redactor, host)}`);
      }
      return done('failed', `validation failed, previous files restored, service left running as it was: ${failureText(err, redactor, host)}`);
    }
  }
  try {
    await runCommand(conn, handler.action, redactor);
    if (handler.ready) await runCommand(conn, handler.ready, redactor);
  } catch (err) {
    // The marker stays: the next run tries the reload again.
    return done('failed', failureText(err, redactor, host));
  }
  // The service took the new files: the marker and backups go. Left behind, the marker would only
  // make the next run reload once more, so this is a warning, not a failure.
  await runCommand(conn, { kind: 'exec', argv: ['rm', '-f', marker, ...files.map((f) => backupPath(f, conn.backupRoot))] }, redactor).catch((err) =>
    warn(`${handler.id}: could not remove its marker and backups: ${failureText(err, redactor, host)}`),
  );
  return done('changed');
}

/** Put back what was there before this phase wrote the files (or remove files that were new). */
async function restoreFiles(conn: Connection, files: string[], alsoRemove: string[], redactor: Redactor): Promise<void> {
  if (files.length === 0 && alsoRemove.length === 0) return;
  const script = files
    .map((f) => {
      const b = backupPath(f, conn.backupRoot);
      return sh`if [ -e ${b} ]; then mv -f ${b} ${f}; else rm -f ${f}; fi`;
    })
    .concat(alsoRemove.length ? [sh`rm -f ${alsoRemove}`] : [])
    .join('\n');
  await runCommand(conn, { kind: 'script', script, describe: `put back ${files.length ? files.join(', ') : 'nothing'} from the backups` }, redactor);
}

async function gather(conn: Connection, cache: FactCache, facts: Fact<unknown>[], peers: ReadonlyMap<string, unknown>): Promise<void> {
  const missing = uniqueFacts(facts).filter((f) => !cache.has(f.id));
  // Other hosts' facts come from their first reading, without a round trip.
  for (const f of missing.filter(isPeerFact)) cache.set(f.id, peers.get(peerKey(f.peer.host, f.peer.fact.id)));
  const todo = missing.filter((f) => !isPeerFact(f));
  if (todo.length === 0) return;
  const token = newToken();
  const res = await conn.exec({ script: batchScript(todo, token), describe: `read ${todo.length} facts` });
  let raw;
  try {
    raw = splitBatch(res.stdout, todo, token);
  } catch (err) {
    // The batch itself never exits early, so a cut answer means the shell or the link died.
    throw new ConnectionError(
      `${conn.host.name}: reading facts was cut short (${(err as Error).message}; exit ${res.exitCode}${res.stderr.trim() ? `: ${res.stderr.trim().split('\n').slice(-3).join(' ')}` : ''}). Is the server going down?`,
      { cause: err, host: conn.host.name },
    );
  }
  todo.forEach((f, i) => cache.set(f.id, f.parse(raw[i]!.stdout, raw[i]!.exitCode)));
}

/** Runs at most `limit` tasks at once; the others wait for a free slot. */
function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return async (task) => {
    // A finished task hands its slot straight to the next waiter, so `running` never exceeds the limit.
    if (running >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = queue.shift();
      if (next) next();
      else running--;
    }
  };
}

async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  });
  await Promise.all(workers);
}

