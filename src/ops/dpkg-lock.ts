// Waiting for another process's dpkg/apt lock, out loud. apt's own -oDPkg::Lock::Timeout waits in
// silence; this wrapper waits first, says every few seconds who holds the lock (pid and command,
// from the kernel's lock table /proc/locks, which lists both fcntl locks, as dpkg and apt take
// them, and flock locks), and gives up after the configured wait with a clear message.
import { PROGRESS_TAG } from '../ssh/connection.ts';
import { raw, sh, shellJoin, shellQuote } from '../ssh/shell.ts';

/** The locks dpkg and apt take: dpkg's frontend lock (apt, dpkg), dpkg's own, apt's index lock. */
export const DPKG_LOCKS = ['/var/lib/dpkg/lock-frontend', '/var/lib/dpkg/lock', '/var/lib/apt/lists/lock'];

/** Exit code of the wrapper when the lock was still held at the end of the wait. */
export const LOCK_WAIT_EXPIRED = 75;

/** Seconds between two progress lines while waiting. */
const REPORT_EVERY_SECONDS = 5;

/**
 * A script that waits up to `waitSeconds` for every dpkg/apt lock to be free, then runs `argv`.
 * `aptLockOption`: put apt's own lock timeout (the wait left) before the first argument after the
 * program, for the moment between our check and apt taking the lock.
 */
export function withDpkgLockWait(argv: readonly string[], waitSeconds: number, opts: { aptLockOption?: boolean; locks?: readonly string[] } = {}): string {
  const locks = opts.locks ?? DPKG_LOCKS;
  const program = argv.indexOf('apt-get');
  const run =
    opts.aptLockOption && program >= 0
      ? sh`exec ${argv.slice(0, program + 1)} ${raw('"-oDPkg::Lock::Timeout=$left"')} ${argv.slice(program + 1)}`
      : sh`exec ${argv}`;
  return [
    sh`wait=${waitSeconds}; every=${REPORT_EVERY_SECONDS}; locks=${shellJoin(locks)}`,
    'start=$(date +%s); said=-1000',
    // Holders of any of the locks: "pid command" per line. /proc/locks: "N: TYPE ADVISORY MODE PID MAJ:MIN:INODE ..."
    // (a waiter's line has "->" after the number: skipped, it holds nothing; pid 0: a process of
    // another pid namespace, so of another host sharing this kernel).
    'openers() {',
    `  for fd in /proc/[0-9]*/fd/*; do case "$(readlink "$fd" 2>/dev/null)" in ${locks.map(shellQuote).join('|')}) p=\${fd#/proc/}; echo "\${p%%/*}";; esac; done`,
    '}',
    'holders() {',
    // Each lock file as /proc/locks names it: MAJ:MIN:INODE, device numbers in hex (containers
    // sharing a kernel see each other's locks: the inode alone could be another host's file).
    `  keys=$(for f in $locks; do [ -e "$f" ] && stat -c '%Hd %Ld %i' "$f"; done | while read -r ma mi ino; do printf '%02x:%02x:%s\\n' "$ma" "$mi" "$ino"; done)`,
    `  awk -v want="$keys" 'BEGIN { n = split(want, a); for (i = 1; i <= n; i++) w[a[i]] = 1 } $2 != "->" && $5 != "0" && ($6 in w) { print $5 }' /proc/locks | sort -un |`,
    // An open-file-description lock (apt's, on newer kernels) has no pid in /proc/locks: then the
    // holders are the processes with one of the lock files open.
    `    while read -r pid; do if [ "$pid" = -1 ]; then openers; else echo "$pid"; fi; done | sort -un |`,
    `    while read -r pid; do printf 'pid %s (%s)\\n' "$pid" "$(tr '\\0\\n' '  ' < /proc/$pid/cmdline 2>/dev/null | cut -c1-200 | sed 's/ *$//')"; done`,
    '}',
    'while h=$(holders); [ -n "$h" ]; do',
    '  waited=$(( $(date +%s) - start ))',
    // dash's echo would read a backslash in a command line as an escape: printf '%s' only.
    '  held=$(printf "%s" "$h" | paste -sd ";" - | sed "s/;/; /g")',
    // The first sighting is always said, even when a slow scan already used up the wait.
    `  if [ $(( waited - said )) -ge "$every" ]; then printf '%s\\n' "${PROGRESS_TAG}the dpkg lock is held by $held (waited $waited s of $wait)" >&2; said=$waited; fi`,
    `  if [ "$waited" -ge "$wait" ]; then printf '%s\\n' "the dpkg lock is still held after $wait s (apt.lock_wait) by $held" >&2; exit ${LOCK_WAIT_EXPIRED}; fi`,
    '  sleep 1',
    'done',
    'left=$(( wait - ($(date +%s) - start) )); [ "$left" -ge 1 ] || left=1',
    run,
  ].join('\n');
}
