// Units of work and what each needs first. A unit is one host's work in one phase: its ops in
// order, then its handlers. A unit runs once every unit it needs has finished; it is skipped (and
// says why) when one of them failed or was skipped, and only then: a failure stops what depends
// on it, not the host, and no host waits at a phase boundary for work it does not need.
// Pure, so the rules are tested as tables.
import { PHASES, type Handler, type HostWork, type Op, type Phase, type WorkRef } from './types.ts';

export interface Unit {
  key: string;
  host: string;
  phase: Phase;
  ops: Op[];
  handlers: Handler[];
  /** Units that must have finished without failing. */
  needs: string[];
  /** Units that must have ended first, however they ended (order only: their failure skips nothing). */
  after: string[];
  /** The check units of the other hosts: a failed check there stops this unit (nothing changes anywhere). */
  gate: string[];
}

/** How a unit ended: done, failed, skipped (something it needs did not succeed), or its host was not reached. */
export type Settled = 'done' | 'failed' | 'skipped' | 'unreached';

export const unitKey = (host: string, phase: Phase): string => `${host}/${phase}`;

const order = (phase: Phase) => PHASES.indexOf(phase);

/**
 * The units of a run, per host in phase order, with their needs resolved to unit keys. Work
 * without `needs` needs every earlier phase of its host. A need of work outside the run (a host
 * left out by --limit, a recipe not selected) is no need: that work is not this run's to wait for.
 */
export function buildUnits(hosts: readonly string[], work: ReadonlyMap<string, readonly HostWork[]>): Unit[] {
  const units: Unit[] = [];
  for (const host of hosts) {
    for (const phase of PHASES) {
      const parts = (work.get(host) ?? []).filter((w) => w.phase === phase);
      if (parts.length === 0) continue;
      units.push({ key: unitKey(host, phase), host, phase, ops: parts.flatMap((w) => w.ops), handlers: parts.flatMap((w) => w.handlers ?? []), needs: [], after: [], gate: [] });
    }
  }
  const exists = new Set(units.map((u) => u.key));
  const checks = units.filter((u) => u.phase === 'check');
  for (const unit of units) {
    if (unit.phase === 'check') continue;
    unit.gate = checks.filter((c) => c.host !== unit.host).map((c) => c.key);
    const refs = (work.get(unit.host) ?? []).filter((w) => w.phase === unit.phase).flatMap((w) => w.needs ?? earlierPhases(unit.phase));
    const needs = new Set<string>();
    // The host's own check is needed like any earlier work.
    if (exists.has(unitKey(unit.host, 'check'))) needs.add(unitKey(unit.host, 'check'));
    const resolve = (ref: WorkRef, verb: string): string | undefined => {
      if (order(ref.phase) >= order(unit.phase)) {
        throw new Error(`${unit.host}: ${unit.phase} work declares that it ${verb} ${ref.host ?? unit.host}'s ${ref.phase} work, which is not an earlier phase`);
      }
      const key = unitKey(ref.host ?? unit.host, ref.phase);
      return exists.has(key) ? key : undefined;
    };
    for (const ref of refs) {
      const key = resolve(ref, 'needs');
      if (key) needs.add(key);
    }
    unit.needs = [...needs];
    const after = (work.get(unit.host) ?? []).filter((w) => w.phase === unit.phase).flatMap((w) => w.after ?? []);
    unit.after = [...new Set(after.map((ref) => resolve(ref, 'comes after')).filter((k): k is string => k !== undefined && !needs.has(k)))];
  }
  return units;
}

function earlierPhases(phase: Phase): WorkRef[] {
  return PHASES.slice(0, order(phase)).map((p) => ({ phase: p }));
}

/** The first of a host's waiting units (in phase order) whose needs have all settled, or undefined. */
export function nextUnit(waiting: readonly Unit[], settled: ReadonlyMap<string, Settled>): Unit | undefined {
  return waiting.find((u) => [...u.needs, ...u.after, ...u.gate].every((k) => settled.has(k)));
}

/** Why a unit whose needs have settled must be skipped, or undefined when it may run. */
export function skipReason(unit: Unit, settled: ReadonlyMap<string, Settled>): string | undefined {
  for (const key of unit.gate) {
    if (settled.get(key) === 'failed') return `${hostOf(key)} failed its check, so nothing changes anywhere`;
  }
  for (const key of unit.needs) {
    const s = settled.get(key);
    if (s === 'done' || s === undefined) continue;
    const what = hostOf(key) === unit.host ? `its ${phaseOf(key)} work` : `${hostOf(key)}'s ${phaseOf(key)} work`;
    if (s === 'unreached') return `needs ${what}, and ${hostOf(key)} was not reached`;
    return `needs ${what}, which ${s === 'failed' ? 'failed' : 'was skipped'}`;
  }
  return undefined;
}

/**
 * The other hosts a unit needs work from: their changes may change what this host reads. Not
 * the units it only comes `after`: ordering reads nothing of theirs, so their changes leave this
 * host's facts as they were.
 */
export function peerHostsOf(unit: Unit): string[] {
  return [...new Set(unit.needs.map(hostOf).filter((h) => h !== unit.host))];
}

const hostOf = (key: string) => key.slice(0, key.lastIndexOf('/'));
const phaseOf = (key: string) => key.slice(key.lastIndexOf('/') + 1);
