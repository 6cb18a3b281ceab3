// Private keys tandem keeps beside the secrets store (the ACME account key, the database CA's
// key): PEM files, 0600, made on first use. They are not in the YAML store: a PEM holds newlines.
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SecretsError } from '../errors.ts';
import { Secret } from './secret.ts';

/** Where the store's key `name` lives: `<store>.d/<name>.pem` (lab.secrets.yml -> lab.secrets.d/acme-account.pem). */
export function keyFilePath(secretsFile: string, name: string): string {
  return path.join(`${secretsFile.replace(/\.ya?ml$/, '')}.d`, `${name}.pem`);
}

/** Reads the key (made 0600 if it was readable by others), or undefined when there is none. */
export async function readKey(file: string): Promise<Secret | undefined> {
  try {
    const st = await stat(file);
    if ((st.mode & 0o077) !== 0) await chmod(file, 0o600);
    return new Secret(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SecretsError(`${file}: cannot read the key (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}

/** Reads the key, or makes it with `create` and writes it 0600 (its folder 0700). */
export async function loadOrCreateKey(file: string, create: () => Promise<string>): Promise<Secret> {
  const existing = await readKey(file);
  if (existing) return existing;
  const pem = await create();
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another run made it first: use that one.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return new Secret(await readFile(file, 'utf8'));
    throw new SecretsError(`${file}: cannot write the key (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  return new Secret(pem);
}
