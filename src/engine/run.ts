// The planner and executor: first contact with every host (its facts for the whole run in one
// batch), then phases in order, hosts inside a phase in parallel, ops in order. A change marks
// facts stale and only stale facts are re-read (again in one batch) before the next op that needs
// them.
import type { HostSpec } from '../inventory/types.ts';
import type { Connection } from '../ssh/connection.ts';
import { backupPath } from '../ssh/connection.ts';
import { sh } from '../ssh/shell.ts';
import type { Redactor } from '../secrets/secret.ts';
import { ConnectionError, InterruptedError, TandemError } from '../errors.ts';
import { describeCommand, failureText, runCommand } from './commands.ts';
import { batchScript, FactCache, isPeerFact, newToken, splitBatch, uniqueFacts } from './facts.ts';
import { markerFile, markPendingScript, pendingHandlersFact } from './pending.ts';
import type { EventSink, HandlerResult, HostReport, Mode, OpResult, RunReport } from './events.ts';
import { PHASES, type Fact, type Handler, type HostWork, type Phase } from './types.ts';

export interface RunInput {
  mode: Mode;
  hosts: HostSpec[];
  /** What each host has to do, by phase. */
  work: ReadonlyMap<string, HostWork[]>;
  connect(host: HostSpec): Promise<Connection>;
  redactor: Redactor;
  emit: EventSink;
  concurrency?: number;
  /** Aborted (Ctrl-C): no op or handler starts any more; the commands running end on their own. */
  signal?: AbortSignal;
}

/** Stop here, before starting `what`, when the run was interrupted. */
function checkInterrupted(signal: AbortSignal | undefined, host: string, what: string): void {
  if (signal?.aborted) throw new InterruptedError(`interrupted before ${what}`, { host });
}

interface HostState {
  spec: HostSpec;
  conn?: Connection;
  facts: FactCache;
  /** The run's change counter when this host's facts were last read. */
  readAt: number;
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
  const phases = PHASES.filter((p) => input.hosts.some((h) => input.work.get(h.name)?.some((w) => w.phase === p)));
  const states = new Map<string, HostState>(
    input.hosts.map((h) => [
      h.name,
      { spec: h, facts: new FactCache(), readAt: -1, failed: false, report: { ok: 0, changed: 0, failed: 0, ops: [], handlers: [], warnings: [] }, pendingHandlers: new Set() },
    ]),
  );
  const counter = { changes: 0 };
  emit({ type: 'run:start', mode: input.mode, hosts: input.hosts.map((h) => h.name), phases });
  const fail = (state: HostState, phase: Phase, err: unknown) => {
    state.failed = true;
    if (!(err instanceof CountedFailure)) state.report.failed++;
    state.report.error = failureText(err, redactor);
    emit({ type: 'host:failed', host: state.spec.name, phase, error: state.report.error });
  };

  // First contact with every host before any phase: so the checks see every host's facts (their
  // own, and other hosts' through peer facts) before anything changes anywhere.
  const requests = peerRequests(input);
  const peers = new Map<string, unknown>();
  const contacted = input.hosts.filter((h) => input.work.get(h.name)?.length || requests.has(h.name));
  await eachLimited(contacted, input.concurrency ?? 10, async (h) => {
    const state = states.get(h.name)!;
    try {
      await firstContact(input, state, requests.get(h.name) ?? [], peers);
    } catch (err) {
      fail(state, phases[0] ?? 'base', err);
    }
  });

  for (const phase of phases) {
    if (input.signal?.aborted) break;
    const active = input.hosts.filter((h) => !states.get(h.name)!.failed && input.work.get(h.name)?.some((w) => w.phase === phase));
    emit({ type: 'phase:start', phase, hosts: active.map((h) => h.name) });
    await eachLimited(active, input.concurrency ?? 10, async (h) => {
      const state = states.get(h.name)!;
      const work = input.work.get(h.name)!.filter((w) => w.phase === phase);
      try {
        await runHostPhase(input, state, phase, work, counter, peers);
      } catch (err) {
        fail(state, phase, err);
      }
    });
    // A failed check stops every host: nothing has changed yet, and the others may depend on it.
    if (phase === 'check' && active.some((h) => states.get(h.name)!.failed)) break;
  }

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
async function firstContact(input: RunInput, state: HostState, requested: Fact<unknown>[], peers: Map<string, unknown>): Promise<void> {
  const host = state.spec.name;
  input.emit({ type: 'host:connect', host });
  state.conn = await input.connect(state.spec);
  const pendingFact = pendingHandlersFact(state.conn.backupRoot);
  const own = (input.work.get(host) ?? []).flatMap((w) => w.ops.flatMap((o) => o.facts)).filter((f) => !isPeerFact(f));
  await gather(state.conn, state.facts, [pendingFact, ...own, ...requested], peers);
  state.pendingHandlers = state.facts.get(pendingFact);
  for (const f of requested) peers.set(peerKey(host, f.id), state.facts.get(f));
  state.readAt = 0;
}

async function runHostPhase(input: RunInput, state: HostState, phase: Phase, work: HostWork[], counter: { changes: number }, peers: Map<string, unknown>) {
  const { emit, redactor, mode } = input;
  const host = state.spec.name;
  const conn = state.conn!;
  /** Something that went wrong beside the failure itself (a restore, a cleanup): told, never dropped. */
  const warn = (message: string) => {
    const text = `${phase}: ${redactor.redact(message)}`;
    state.report.warnings.push(text);
    emit({ type: 'host:warning', host, message: text });
  };
  const ops = work.flatMap((w) => w.ops);
  const handlers = work.flatMap((w) => w.handlers ?? []);
  emit({ type: 'host:phase', host, phase, ops: ops.length });

  if (mode === 'apply' && state.readAt < counter.changes) {
    // Something changed since (here or on another host): what we know may be stale.
    state.facts.invalidate('all');
    state.readAt = counter.changes;
  }

  const staleInPlan = new Set<string>();
  let planStaleAll = false;
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

  for (const op of ops) {
    checkInterrupted(input.signal, host, op.id);
    emit({ type: 'op:start', host, phase, op: op.id });
    const t0 = performance.now();
    const result: OpResult = { host, phase, op: op.id, status: 'ok', durationMs: 0 };
    try {
      const missing = ops.slice(ops.indexOf(op)).flatMap((o) => o.facts).filter((f) => !state.facts.has(f.id));
      if (op.facts.some((f) => !state.facts.has(f.id))) await gather(conn, state.facts, missing, peers);
      const change = op.plan(state.facts);
      if (!change) {
        const dependsOnPlanned = planStaleAll || op.facts.some((f) => staleInPlan.has(f.id));
        if (mode === 'plan' && dependsOnPlanned) {
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
          if (invalidates === 'all') planStaleAll = true;
          else invalidates.forEach((id) => staleInPlan.add(id));
        } else {
          // The marker goes first: if this run dies after the change, the next one still reloads.
          const unmarked = (op.notify ?? []).filter((id) => !marked.has(id));
          if (unmarked.length) {
            await runCommand(conn, { kind: 'script', script: markPendingScript(conn.backupRoot, unmarked), describe: 'note the handlers owed' }, redactor);
            unmarked.forEach((id) => marked.add(id));
          }
          for (const cmd of change.commands) {
            await runCommand(conn, cmd, redactor);
            if (cmd.kind === 'put' && cmd.backup) {
              for (const h of op.notify ?? []) backups.set(h, [...(backups.get(h) ?? []), cmd.path]);
            }
          }
          state.facts.invalidate(invalidates);
          counter.changes++;
          state.readAt = counter.changes;
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
      const res = await runHandler(conn, handler, backups.get(handler.id) ?? [], redactor, host, phase, wasOwed, warn);
      if (wasOwed) res.owed = true;
      state.report.handlers.push(res);
      emit({ type: 'handler:end', ...res });
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
    raw = splitBatch(res.stdout, todo.length, token);
  } catch (err) {
    // The batch itself never exits early, so a cut answer means the shell or the link died.
    throw new ConnectionError(
      `${conn.host.name}: reading facts was cut short (${(err as Error).message}; exit ${res.exitCode}${res.stderr.trim() ? `: ${res.stderr.trim().split('\n').slice(-3).join(' ')}` : ''}). Is the server going down?`,
      { cause: err, host: conn.host.name },
    );
  }
  todo.forEach((f, i) => cache.set(f.id, f.parse(raw[i]!.stdout, raw[i]!.exitCode)));
}

async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  });
  await Promise.all(workers);
}

