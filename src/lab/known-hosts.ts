// Pinning the lab hosts' keys in the inventory's known_hosts (OpenSSH format).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface HostKey {
  address: string;
  /** "ssh-ed25519 AAAA..." (a comment after it is dropped). */
  key: string;
}

function hostsOf(field: string): string[] {
  return field.split(',').map((h) => h.replace(/^\[([^\]]+)\]:22$/, '$1'));
}

/**
 * Pure: the known_hosts text with every line for these addresses replaced by the new keys.
 * A line that already says exactly that stays where it is (so re-pinning changes nothing).
 */
export function mergeKnownHosts(existing: string, keys: readonly HostKey[]): string {
  const wanted = new Map(keys.map((k) => [k.address, `${k.address} ${k.key.trim().split(/\s+/).slice(0, 2).join(' ')}`]));
  const kept: string[] = [];
  const done = new Set<string>();
  for (const raw of existing.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const hosts = line.startsWith('#') ? [] : hostsOf(line.split(/\s+/)[0] ?? '');
    const ours = hosts.filter((h) => wanted.has(h));
    if (ours.length === 0) {
      kept.push(raw);
    } else if (hosts.length === 1 && line === wanted.get(ours[0]!) && !done.has(ours[0]!)) {
      kept.push(line);
      done.add(ours[0]!);
    }
  }
  const added = [...wanted].filter(([address]) => !done.has(address)).map(([, line]) => line);
  return [...kept, ...added, ''].join('\n');
}

/** Rewrites the file only when it changes; returns true if it did. */
export async function updateKnownHosts(file: string, keys: readonly HostKey[]): Promise<boolean> {
  const existing = await readFile(file, 'utf8').catch(() => '');
  const next = mergeKnownHosts(existing, keys);
  if (next === existing) return false;
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, next, { mode: 0o644 });
  await rename(tmp, file);
  return true;
}
