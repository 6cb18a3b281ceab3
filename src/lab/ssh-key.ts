// The lab's own SSH key (ed25519), kept in its state folder.
import { access, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sshKeygen } from './commands.ts';
import type { Progress } from './events.ts';
import { runOk } from './exec.ts';

/** Makes the key pair if missing; returns the public key line. */
export async function ensureLabKey(keyPath: string, progress: Progress): Promise<string> {
  const have = await access(keyPath).then(() => true, () => false);
  if (!have) {
    await mkdir(path.dirname(keyPath), { recursive: true, mode: 0o700 });
    await runOk(sshKeygen(keyPath, 'tandem-lab'), 'generating the lab SSH key');
    progress({ type: 'info', message: `generated the lab SSH key ${keyPath}` });
  }
  const pub = await readFile(`${keyPath}.pub`, 'utf8').catch(async () =>
    (await runOk({ argv: ['ssh-keygen', '-y', '-f', keyPath] }, 'reading the lab public key')).stdout,
  );
  return pub.trim();
}
