// Whether an account's stored authentication string is the hash of the password we want, without
// reading the password back: for mysql_native_password (MariaDB, and MySQL 8 accounts on that
// plugin) by recomputing the unsalted hash; for MySQL 8's caching_sha2_password by recomputing
// the salted one with the salt and rounds the string carries. Any other plugin: no match, so the
// password is set again.
import { createHash } from 'node:crypto';

/** MariaDB/MySQL mysql_native_password hash: `*` + hex(SHA1(SHA1(password))). */
export function nativePasswordHash(password: string): string {
  const once = createHash('sha1').update(password).digest();
  return '*' + createHash('sha1').update(once).digest('hex').toUpperCase();
}

const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** SHA-crypt's byte order for SHA-256 when it writes the digest out, three bytes at a time. */
const SHA256_CRYPT_ORDER: Array<[number, number, number]> = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14],
  [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
];

const sha256 = (...parts: Buffer[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** `bytes` repeated to `length` bytes. */
const stretch = (bytes: Buffer, length: number) => Buffer.concat(Array.from({ length: Math.ceil(length / bytes.length) }, () => bytes)).subarray(0, length);

/**
 * SHA-256-crypt (Ulrich Drepper's "Unix crypt using SHA-256", the `$5$` of /etc/shadow): the
 * 43-character checksum only. The salt is used whole (MySQL's is 20 bytes; `$5$` cuts at 16).
 */
export function sha256CryptChecksum(password: Buffer, salt: Buffer, rounds: number): string {
  const b = sha256(password, salt, password);
  const a = createHash('sha256').update(password).update(salt).update(stretch(b, password.length));
  for (let n = password.length; n > 0; n >>= 1) a.update(n & 1 ? b : password);
  let c = a.digest();
  const p = stretch(sha256(...Array.from({ length: password.length }, () => password)), password.length);
  const s = stretch(sha256(...Array.from({ length: 16 + c[0]! }, () => salt)), salt.length);
  for (let i = 0; i < rounds; i++) {
    const h = createHash('sha256');
    h.update(i & 1 ? p : c);
    if (i % 3) h.update(s);
    if (i % 7) h.update(p);
    h.update(i & 1 ? c : p);
    c = h.digest();
  }
  let out = '';
  const put = (b2: number, b1: number, b0: number, chars: number) => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let k = 0; k < chars; k++, w >>= 6) out += CRYPT_ALPHABET[w & 0x3f];
  };
  for (const [x, y, z] of SHA256_CRYPT_ORDER) put(c[x]!, c[y]!, c[z]!, 4);
  put(0, c[31]!, c[30]!, 3);
  return out;
}

/**
 * MySQL 8 caching_sha2_password's stored string: `$A$` + rounds/1000 as three hex digits + `$` +
 * a 20-byte salt + the 43-character SHA-256-crypt checksum. Undefined when it is not one.
 */
export function parseCachingSha2(stored: Buffer): { rounds: number; salt: Buffer; checksum: string } | undefined {
  const text = stored.toString('latin1');
  const m = /^\$A\$([0-9A-Fa-f]{3})\$/.exec(text);
  if (!m || stored.length !== 7 + 20 + 43) return undefined;
  return { rounds: parseInt(m[1]!, 16) * 1000, salt: stored.subarray(7, 27), checksum: text.slice(27) };
}

/** The stored credentials of an account: its plugin and its authentication string (raw bytes). */
export interface StoredAuth {
  plugin: string;
  auth: Buffer;
}

export function storedPasswordIs(have: StoredAuth, password: string): boolean {
  if (have.plugin === 'mysql_native_password' || have.plugin === '') return have.auth.toString('latin1') === nativePasswordHash(password);
  if (have.plugin === 'caching_sha2_password') {
    const parsed = parseCachingSha2(have.auth);
    return parsed !== undefined && sha256CryptChecksum(Buffer.from(password, 'utf8'), parsed.salt, parsed.rounds) === parsed.checksum;
  }
  return false;
}
