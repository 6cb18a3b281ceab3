// Host key pinning against an OpenSSH-format known_hosts file (plain host entries).
import { readFile, appendFile, mkdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';

export interface PinnedKey {
  type: string;
  /** Base64 of the key blob, as in known_hosts. */
  blob: string;
}

export function hostPattern(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

export function parseKnownHosts(text: string): Map<string, PinnedKey[]> {
  const map = new Map<string, PinnedKey[]>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#') || trimmed.startsWith('@') || trimmed.startsWith('|')) continue;
    const [hosts, type, blob] = trimmed.split(/\s+/);
    if (!hosts || !type || !blob) continue;
    for (const h of hosts.split(',')) {
      const list = map.get(h) ?? [];
      list.push({ type, blob });
      map.set(h, list);
    }
  }
  return map;
}

/** OpenSSH's fingerprint form: SHA256:<base64 without padding>. */
export function fingerprint(blob: Buffer | string): string {
  const buf = typeof blob === 'string' ? Buffer.from(blob, 'base64') : blob;
  return 'SHA256:' + createHash('sha256').update(buf).digest('base64').replace(/=+$/, '');
}

/** The key type named inside a key blob (ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa...). */
export function keyTypeOf(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('ascii');
}

export async function readKnownHosts(file: string): Promise<Map<string, PinnedKey[]>> {
  try {
    return parseKnownHosts(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
}

export async function pinHostKey(file: string, pattern: string, blob: Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(file, `${pattern} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`, { mode: 0o644 });
}
