// What is mounted where (from /proc/self/mountinfo), so nothing is removed from under a mount.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { unmount } from './commands.ts';
import { runOk, type Runner, run } from './exec.ts';

/** Pure: mount points listed in a mountinfo text, octal escapes (\040 for space) decoded. */
export function mountPoints(mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))));
}

/** Pure: mount points at or below `dir`, deepest first (the order to unmount them in). */
export function mountsAtOrUnder(points: readonly string[], dir: string): string[] {
  const base = path.resolve(dir);
  return [...new Set(points.filter((p) => p === base || p.startsWith(base + '/')))].sort((a, b) => b.length - a.length);
}

export async function currentMounts(): Promise<string[]> {
  return mountPoints(await readFile('/proc/self/mountinfo', 'utf8'));
}

export async function isMounted(dir: string): Promise<boolean> {
  return (await currentMounts()).includes(path.resolve(dir));
}

/** Unmounts everything at or below `dir`, deepest first (e.g. what a failed debootstrap left). */
export async function unmountAll(dir: string, runner: Runner = run): Promise<void> {
  for (const point of mountsAtOrUnder(await currentMounts(), dir)) {
    await runOk(unmount(point), `unmounting ${point}`, `find what holds it busy with \`fuser -vm ${point}\``, runner);
  }
}
