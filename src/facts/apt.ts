// Facts about Debian packages: which are installed, which the index knows, how old the index is.
import { shellJoin } from '../ssh/shell.ts';
import type { Fact } from '../engine/types.ts';

export interface PackagesState {
  installed: Set<string>;
  /** Packages the package index has a candidate for (only asked for missing ones). */
  available: Set<string>;
  /** Seconds since the package index was last refreshed; Infinity when never. */
  indexAgeSeconds: number;
  /** A dpkg run was cut short (packages left unpacked or half-configured): `dpkg --configure -a` is owed. */
  dpkgInterrupted?: boolean;
}

export function parsePackages(stdout: string): PackagesState {
  const installed = new Set<string>();
  const available = new Set<string>();
  let indexAgeSeconds = Number.POSITIVE_INFINITY;
  let dpkgInterrupted = false;
  for (const line of stdout.split('\n')) {
    const [tag, name, ...rest] = line.trim().split(' ');
    if (tag === 'pkg' && name && rest.join(' ') === 'install ok installed') installed.add(name);
    else if (tag === 'candidate' && name && rest[0] && rest[0] !== '(none)') available.add(name);
    else if (tag === 'index-age' && name && /^\d+$/.test(name)) indexAgeSeconds = Number(name);
    else if (tag === 'dpkg-interrupted') dpkgInterrupted = true;
  }
  return { installed, available, indexAgeSeconds, dpkgInterrupted };
}

export function packagesFact(packages: readonly string[]): Fact<PackagesState> {
  const sorted = [...packages].sort();
  const list = shellJoin(sorted);
  return {
    id: `apt:${sorted.join(',')}`,
    script: [
      // One dpkg-query for all; the ones not installed are picked out without a fork per package.
      `installed=$(dpkg-query -W -f='pkg \${Package} \${Status}\\n' ${list} 2>/dev/null)`,
      `printf '%s\\n' "$installed"`,
      "nl='\n'",
      `missing=; for p in ${list}; do case "$nl$installed$nl" in *"\${nl}pkg $p install ok installed$nl"*) ;; *) missing="$missing $p";; esac; done`,
      // Only the packages not installed need a look at the index: one apt-cache for them all.
      `[ -z "$missing" ] || (set -f; apt-cache policy $missing 2>/dev/null) | awk '/^[^ ].*:$/ { p = substr($0, 1, length($0) - 1) } /^ *Candidate:/ { print "candidate", p, $2 }'`,
      // The index's age: newest file in the lists folder (apt-get update touches them).
      `s=$(find /var/lib/apt/lists -maxdepth 1 -type f -name '*Packages*' -printf '%T@\\n' 2>/dev/null | sort -n | tail -1 | cut -d. -f1)`,
      `[ -n "$s" ] && echo "index-age $(( $(date +%s) - s ))"`,
      // dpkg's journal of a run cut short, or packages it reports half-installed or unconfigured.
      `if [ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ] || [ -n "$(dpkg --audit 2>/dev/null)" ]; then echo dpkg-interrupted; fi`,
      'true',
    ].join('\n'),
    parse: (stdout) => parsePackages(stdout),
  };
}
