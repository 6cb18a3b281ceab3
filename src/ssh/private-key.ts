// Is this file a private key tandem can log in with? Checked at load, so a wrong `ssh.key` (a
// public key, a passphrase-protected key, any other file) is an inventory error naming the
// field, not a connection failure on every host.
import { createPrivateKey } from 'node:crypto';

const OPENSSH_BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const OPENSSH_END = '-----END OPENSSH PRIVATE KEY-----';
const OPENSSH_MAGIC = 'openssh-key-v1\0';
const PASSPHRASE = 'is protected by a passphrase; tandem needs a key without one';

/** Pure: why `text` cannot serve as the SSH private key, or nothing. */
export function privateKeyProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith(OPENSSH_BEGIN)) {
    const body = trimmed.slice(OPENSSH_BEGIN.length, trimmed.indexOf(OPENSSH_END)).replace(/\s+/g, '');
    const raw = Buffer.from(body, 'base64');
    if (raw.subarray(0, OPENSSH_MAGIC.length).toString('latin1') !== OPENSSH_MAGIC || raw.length < OPENSSH_MAGIC.length + 4) {
      return 'is not a readable OpenSSH private key';
    }
    const cipherLength = raw.readUInt32BE(OPENSSH_MAGIC.length);
    const cipher = raw.subarray(OPENSSH_MAGIC.length + 4, OPENSSH_MAGIC.length + 4 + cipherLength).toString('latin1');
    return cipher === 'none' ? undefined : PASSPHRASE;
  }
  if (/^ssh-(ed25519|rsa|dss) |^ecdsa-sha2-/.test(trimmed)) return 'is a public key; ssh.key names the private key (the file without .pub)';
  if (!trimmed.startsWith('-----BEGIN ')) return 'is not a private key';
  // PKCS#8 and the older PEM forms say in their headers that they are encrypted.
  if (trimmed.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----') || trimmed.includes('Proc-Type: 4,ENCRYPTED')) {
    return PASSPHRASE;
  }
  try {
    createPrivateKey(trimmed);
    return undefined;
  } catch {
    return 'is not a private key tandem can read';
  }
}
