// The secrets store: generated on first apply into a 0600 file beside the inventory, or taken
// from the environment (TANDEM_SECRET_<NAME>). Values are only ever handed out as Secret.
import { readFile, writeFile, chmod, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { Secret } from './secret.ts';
import { InventoryError } from '../errors.ts';

export const SECRET_NAMES = ['db_app_password', 'db_replication_password', 'db_verify_password'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];
export type Secrets = Record<SecretName, Secret>;

export function generatePassword(): string {
  // URL-safe alphabet: no quoting issues in SQL, env files or my.cnf.
  return randomBytes(24).toString('base64url');
}

function envName(name: SecretName): string {
  return `TANDEM_SECRET_${name.toUpperCase()}`;
}

/**
 * Read the store; when `create` is set, generate what is missing and write the file (0600).
 * Without `create` (plan), missing values are generated in memory only, so plan changes nothing.
 */
export async function loadSecrets(file: string, opts: { create: boolean; env?: NodeJS.ProcessEnv }): Promise<Secrets> {
  const env = opts.env ?? process.env;
  let stored: Record<string, unknown> = {};
  let existed = true;
  try {
    const st = await stat(file);
    if ((st.mode & 0o077) !== 0) await chmod(file, 0o600);
    stored = (parse(await readFile(file, 'utf8')) as Record<string, unknown>) ?? {};
    if (typeof stored !== 'object' || Array.isArray(stored)) throw new Error('not a map');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') existed = false;
    else throw new InventoryError([`${file}: cannot read the secrets store (${(err as Error).message})`]);
  }
  const values: Record<string, string> = {};
  let missing = false;
  for (const name of SECRET_NAMES) {
    const fromEnv = env[envName(name)];
    const fromFile = stored[name];
    if (fromEnv) values[name] = fromEnv;
    else if (typeof fromFile === 'string' && fromFile.length > 0) values[name] = fromFile;
    else {
      values[name] = generatePassword();
      missing = true;
    }
  }
  if (missing && opts.create) {
    const toStore: Record<string, string> = {};
    for (const name of SECRET_NAMES) if (!env[envName(name)]) toStore[name] = values[name]!;
    const merged = { ...stored, ...toStore };
    await writeFile(file, `# tandem secrets: generated, keep private (mode 0600)\n${stringify(merged)}`, { mode: 0o600 });
    if (existed) await chmod(file, 0o600);
  }
  return Object.fromEntries(SECRET_NAMES.map((n) => [n, new Secret(values[n]!)])) as Secrets;
}
