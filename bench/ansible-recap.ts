// Pure: the PLAY RECAP of ansible-playbook's default output, one line per host:
//   web-01   : ok=31   changed=0    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0
export interface RecapLine {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
}

export function parseRecap(stdout: string): Map<string, RecapLine> {
  const recap = new Map<string, RecapLine>();
  const at = stdout.lastIndexOf('PLAY RECAP');
  if (at < 0) return recap;
  for (const line of stdout.slice(at).split('\n').slice(1)) {
    const m = /^(\S+)\s+:\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const counts = Object.fromEntries([...m[2]!.matchAll(/(\w+)=(\d+)/g)].map((c) => [c[1]!, Number(c[2])]));
    recap.set(m[1]!, { ok: counts.ok ?? 0, changed: counts.changed ?? 0, unreachable: counts.unreachable ?? 0, failed: counts.failed ?? 0 });
  }
  return recap;
}

/** What is wrong with a run that should have converged every host: nothing (undefined) when it did. */
export function recapProblem(recap: ReadonlyMap<string, RecapLine>, hosts: readonly string[], noop: boolean): string | undefined {
  const missing = hosts.filter((h) => !recap.has(h));
  if (missing.length) return `no recap for ${missing.join(', ')}`;
  const bad = hosts.filter((h) => recap.get(h)!.failed > 0 || recap.get(h)!.unreachable > 0);
  if (bad.length) return `failed or unreachable: ${bad.join(', ')}`;
  const changed = hosts.filter((h) => recap.get(h)!.changed > 0);
  if (noop && changed.length) return `not a no-op: changes on ${changed.map((h) => `${h} (${recap.get(h)!.changed})`).join(', ')}`;
  return undefined;
}
