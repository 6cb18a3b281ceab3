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

/** Pure: the known_hosts text with every line for these addresses replaced by the new keys. */
export function mergeKnownHosts(existing: string, keys: readonly HostKey[]): string {
  const addresses = new Set(keys.map((k) => k.address));
  const kept = existing
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => line.trim().startsWith('#') || !hostsOf(line.trim().split(/\s+/)[0] ?? '').some((h) => addresses.has(h)));
  const added = keys.map((k) => `${k.address} ${k.key.trim().split(/\s+/).slice(0, 2).join(' ')}`);
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
