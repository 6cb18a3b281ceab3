// Host key pinning against an OpenSSH-format known_hosts file: plain and hashed host entries
// (HashKnownHosts), wildcards and negations, `@revoked` keys (never accepted) and
// `@cert-authority` lines (host certificates are not supported: such a line pins nothing).
import { readFile, appendFile, mkdir } from 'node:fs/promises';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';
import { HostKeyError, InventoryError } from '../errors.ts';

export interface PinnedKey {
  type: string;
  /** Base64 of the key blob, as in known_hosts. */
  blob: string;
}

export interface KnownHostsEntry extends PinnedKey {
  marker?: 'revoked' | 'cert-authority';
  /** The host field as written: `a,b,[c]:2222`, with wildcards, or one `|1|salt|hash`. */
  hosts: string;
}

/** What a known_hosts file says about one host. */
export interface HostKeys {
  pinned: PinnedKey[];
  /** Keys marked @revoked for this host (often for every host, `*`). */
  revoked: PinnedKey[];
  /** A @cert-authority line names this host (ignored: certificates are not supported). */
  certAuthority: boolean;
}

/** The name OpenSSH looks a host up by: the address, or [address]:port off port 22. */
export function hostPattern(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) continue;
    let marker: KnownHostsEntry['marker'];
    if (fields[0].startsWith('@')) {
      const m = fields.shift()!;
      if (m !== '@revoked' && m !== '@cert-authority') continue; // OpenSSH skips unknown markers too
      marker = m === '@revoked' ? 'revoked' : 'cert-authority';
    }
    const [hosts, type, blob] = fields;
    if (!hosts || !type || !blob) continue;
    entries.push({ ...(marker && { marker }), hosts, type, blob });
  }
  return entries;
}

/** OpenSSH's hashed host: |1|base64(salt)|base64(HMAC-SHA1 keyed by the salt, of the host name). */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const mac = createHmac('sha1', salt).update(name).digest('base64');
  return `|1|${salt.toString('base64')}|${mac}`;
}

function matchesHashed(field: string, name: string): boolean {
  const [, version, salt, mac] = field.split('|');
  if (version !== '1' || !salt || !mac) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === mac;
}

/** OpenSSH's wildcards: * any run of characters, ? one; names compare without case. */
function globMatches(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

/** Does a host field name this host? A negated pattern (!p) that matches rules the line out. */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return matchesHashed(field, name);
  let matched = false;
  for (const p of field.split(',')) {
    if (p.startsWith('!')) {
      if (globMatches(p.slice(1), name)) return false;
    } else if (globMatches(p, name)) matched = true;
  }
  return matched;
}

export function keysForHost(entries: readonly KnownHostsEntry[], address: string, port: number): HostKeys {
  const name = hostPattern(address, port);
  const found: HostKeys = { pinned: [], revoked: [], certAuthority: false };
  for (const e of entries) {
    if (!hostFieldMatches(e.hosts, name)) continue;
    if (e.marker === 'cert-authority') found.certAuthority = true;
    else (e.marker === 'revoked' ? found.revoked : found.pinned).push({ type: e.type, blob: e.blob });
  }
  return found;
}

/** OpenSSH's fingerprint form: SHA256:<base64 without padding>. */
export function fingerprint(blob: Buffer | string): string {
  const buf = typeof blob === 'string' ? Buffer.from(blob, 'base64') : blob;
  return 'SHA256:' + createHash('sha256').update(buf).digest('base64').replace(/=+$/, '');
}

/** The key type named inside a key blob (ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa...). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('ascii');
}

export interface HostKeyCheck {
  /** How messages name the host: "web-01 (10.0.0.1:22)". */
  where: string;
  host: string;
  /** The known_hosts file, for messages. */
  file: string;
  acceptNew: boolean;
}

export type HostKeyVerdict = { accept: true; pin: boolean } | { accept: false; error: HostKeyError };

/**
 * Pure: accept the offered key, accept and pin it (a new host with --accept-new-host-keys), or
 * refuse it. A revoked key is refused before anything else, --accept-new-host-keys or not.
 */
export function checkHostKey(keys: HostKeys, offered: Buffer, c: HostKeyCheck): HostKeyVerdict {
  const b64 = offered.toString('base64');
  const shown = `${keyTypeOf(offered)} ${fingerprint(offered)}`;
  const refuse = (message: string): HostKeyVerdict => ({ accept: false, error: new HostKeyError(message, { host: c.host }) });
  if (keys.revoked.some((k) => k.blob === b64)) {
    return refuse(
      `${c.where}: the host key ${shown} is marked @revoked in ${c.file}: refused, with or without --accept-new-host-keys. ` +
        `If the server has a new key, check its fingerprint on the server and pin that one.`,
    );
  }
  if (keys.pinned.some((k) => k.blob === b64)) return { accept: true, pin: false };
  if (keys.pinned.length > 0) {
    return refuse(
      `${c.where}: the host key has CHANGED. Pinned: ${keys.pinned.map((k) => `${k.type} ${fingerprint(k.blob)}`).join(', ')}; ` +
        `offered: ${shown}. This may be an attack or a rebuilt server; ` +
        `if the server was rebuilt, remove its line from ${c.file} and connect again with --accept-new-host-keys.`,
    );
  }
  if (c.acceptNew) return { accept: true, pin: true };
  return refuse(
    `${c.where}: unknown host key ${shown} (not in ${c.file}` +
      `${keys.certAuthority ? '; its @cert-authority line is not used: tandem pins host keys, not certificates' : ''}). ` +
      `Check the fingerprint on the server, then run again with --accept-new-host-keys to pin it.`,
  );
}

/** The entries of the file (none if it does not exist yet). */
export async function readKnownHosts(file: string): Promise<KnownHostsEntry[]> {
  try {
    return parseKnownHosts(await readFile(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new InventoryError([`ssh.known_hosts: cannot read ${file} (${code ?? (err as Error).message})`], { cause: err });
  }
}

/** Appends a pin; hashed, like the rest of the file, when the file hashes its host names. */
export async function pinHostKey(file: string, pattern: string, blob: Buffer, opts: { hashed?: boolean } = {}): Promise<void> {
  const name = opts.hashed ? hashHostName(pattern) : pattern;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await appendFile(file, `${name} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`, { mode: 0o644 });
  } catch (err) {
    throw new HostKeyError(`cannot pin the host key of ${pattern} in ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}
