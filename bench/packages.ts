// The packages each host's recipes install, read from the recipes' own apt facts (so the apt
// baseline and the Ansible playbook install exactly what tandem would, with no second list).
import type { HostWork } from '../src/engine/types.ts';

/** A packages fact's id is `apt:` and its sorted package names, comma-separated (src/facts/apt.ts). */
const APT_FACT = /^apt:([a-z0-9][a-z0-9+.,-]*)$/;

export function packagesOf(work: readonly HostWork[]): string[] {
  const names = new Set<string>();
  for (const fact of work.flatMap((w) => w.ops.flatMap((o) => o.facts))) {
    const m = APT_FACT.exec(fact.id);
    if (m) for (const p of m[1]!.split(',')) names.add(p);
  }
  return [...names].sort();
}

export function packagesByHost(work: ReadonlyMap<string, readonly HostWork[]>): Map<string, string[]> {
  const byHost = new Map<string, string[]>();
  for (const [host, w] of work) {
    const packages = packagesOf(w);
    if (packages.length === 0) throw new Error(`${host}: no apt packages found in the recipes' facts (has the apt fact's id changed? see bench/packages.ts)`);
    byHost.set(host, packages);
  }
  return byHost;
}
