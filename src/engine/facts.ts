// Gathering facts: every fact a batch needs goes to the host as ONE script with delimited sections,
// each section's exit code captured, so a no-op run costs one round trip per host.
import { randomBytes } from 'node:crypto';
import { sh } from '../ssh/shell.ts';
import type { Fact, FactValues, RawFact, SharedProbe } from './types.ts';

export type { RawFact };

/** A section of a batch: one fact alone, or every fact of the batch that shares one probe. */
interface Section {
  facts: Fact<unknown>[];
  probe?: SharedProbe;
}

/** The batch's sections, in the order of each section's first fact. */
function batchSections(facts: readonly Fact<unknown>[]): Section[] {
  const sections: Section[] = [];
  const byProbe = new Map<string, Section>();
  for (const f of facts) {
    const probe = f.shared?.probe;
    const joined = probe && byProbe.get(probe.key);
    if (joined) joined.facts.push(f);
    else {
      const section: Section = { facts: [f], ...(probe && { probe }) };
      if (probe) byProbe.set(probe.key, section);
      sections.push(section);
    }
  }
  return sections;
}

const partsOf = (s: Section) => s.facts.map((f) => f.shared!.part);

export function batchScript(facts: readonly Fact<unknown>[], token: string): string {
  const parts = batchSections(facts).map((s, i) =>
    [
      sh`printf '%s\\n' ${`${token} begin ${i}`}`,
      `( ${s.probe ? s.probe.script(partsOf(s)) : s.facts[0]!.script}\n) 2>/dev/null`,
      sh`printf '\\n%s %s\\n' ${`${token} end ${i}`} "$?"`,
    ].join('\n'),
  );
  return parts.join('\n');
}

export function newToken(): string {
  return `__tandem_${randomBytes(8).toString('hex')}`;
}

/** Split the batch's stdout back into one reading per fact, in the order of `facts` (those given to batchScript). */
export function splitBatch(stdout: string, facts: readonly Fact<unknown>[], token: string): RawFact[] {
  const sections = batchSections(facts);
  const raw = splitSections(stdout, sections.length, token);
  const byFact = new Map<Fact<unknown>, RawFact>();
  sections.forEach((s, i) => {
    const r = raw[i]!;
    if (!s.probe) byFact.set(s.facts[0]!, r);
    else s.probe.split(r.stdout, r.exitCode, partsOf(s)).forEach((p, j) => byFact.set(s.facts[j]!, p));
  });
  return facts.map((f) => byFact.get(f)!);
}

/** A fact read alone by its own `script` (outside a batch): its reading. */
export function parseAlone<T>(fact: Fact<T>, stdout: string, exitCode: number): T {
  if (!fact.shared) return fact.parse(stdout, exitCode);
  const [own] = fact.shared.probe.split(stdout, exitCode, [fact.shared.part]);
  return fact.parse(own!.stdout, own!.exitCode);
}

/** Split the batch's stdout into its sections. A section that never ended is an error. */
export function splitSections(stdout: string, count: number, token: string): RawFact[] {
  const out: RawFact[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const begin = `${token} begin ${i}\n`;
    const b = stdout.indexOf(begin, pos);
    if (b < 0) throw new Error(`fact section ${i} is missing from the host's answer`);
    const bodyStart = b + begin.length;
    const endMarker = `\n${token} end ${i} `;
    const e = stdout.indexOf(endMarker, bodyStart);
    if (e < 0) throw new Error(`fact section ${i} did not finish`);
    const lineEnd = stdout.indexOf('\n', e + endMarker.length);
    const code = Number(stdout.slice(e + endMarker.length, lineEnd < 0 ? undefined : lineEnd));
    out.push({ stdout: stdout.slice(bodyStart, e), exitCode: code });
    pos = lineEnd < 0 ? stdout.length : lineEnd;
  }
  return out;
}

/**
 * Every fact id made stale by invalidating `ids`: those, and each fact that depends on one of
 * them (its `dependsOn`), transitively. Pure, so it is tested as a table.
 */
export function staleClosure(ids: Iterable<string>, facts: Iterable<Fact<unknown>>): Set<string> {
  const dependents = new Map<string, string[]>();
  for (const f of facts) for (const on of f.dependsOn ?? []) dependents.set(on, [...(dependents.get(on) ?? []), f.id]);
  const stale = new Set<string>();
  const todo = [...ids];
  for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
    if (stale.has(id)) continue;
    stale.add(id);
    todo.push(...(dependents.get(id) ?? []));
  }
  return stale;
}

/** Fact readings held for one host; stale ones are re-read in the next batch. */
export class FactCache implements FactValues {
  readonly #values = new Map<string, unknown>();
  /** Every fact this host's work asks for: their dependsOn decide what else goes stale. */
  readonly #known = new Map<string, Fact<unknown>>();

  /** Makes these facts' dependencies known (the facts of all the host's work, at first contact). */
  know(facts: Iterable<Fact<unknown>>): void {
    for (const f of facts) if (!this.#known.has(f.id)) this.#known.set(f.id, f);
  }
  has(id: string): boolean {
    return this.#values.has(id);
  }
  set(id: string, value: unknown): void {
    this.#values.set(id, value);
  }
  get<T>(fact: Fact<T>): T {
    if (!this.#values.has(fact.id)) throw new Error(`fact ${fact.id} was not gathered`);
    return this.#values.get(fact.id) as T;
  }
  /** Drops the readings of these facts and of every fact that depends on them; returns the ids dropped. */
  invalidate(ids: 'all' | readonly string[]): 'all' | Set<string> {
    if (ids === 'all') {
      this.#values.clear();
      return 'all';
    }
    const stale = this.staleAfter(ids);
    for (const id of stale) this.#values.delete(id);
    return stale;
  }
  /** What invalidating these ids makes stale, without dropping anything (plan mode). */
  staleAfter(ids: readonly string[]): Set<string> {
    return staleClosure(ids, this.#known.values());
  }
}

/**
 * A fact of another host of the run, as the run first read it (at first contact, before any
 * change), or undefined when that host is not part of the run or could not be reached. It costs
 * no round trip: the engine adds the fact to that host's first batch and hands its reading over.
 */
export interface PeerFact<T> extends Fact<T | undefined> {
  peer: { host: string; fact: Fact<T> };
}

export function peerFact<T>(host: string, fact: Fact<T>): PeerFact<T> {
  return { id: `peer:${host}:${fact.id}`, script: '', parse: () => undefined, peer: { host, fact } };
}

export function isPeerFact(fact: Fact<unknown>): fact is PeerFact<unknown> {
  return 'peer' in fact;
}

/** Deduplicate by id, keeping the first of each. */
export function uniqueFacts(facts: Iterable<Fact<unknown>>): Fact<unknown>[] {
  const seen = new Map<string, Fact<unknown>>();
  for (const f of facts) if (!seen.has(f.id)) seen.set(f.id, f);
  return [...seen.values()];
}
