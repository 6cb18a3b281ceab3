// The secrets store: generated on first apply into a 0600 file beside the inventory, or taken
// from the environment (TANDEM_SECRET_<NAME>). Values are only ever handed out as Secret.
// A value is used exactly as given, whatever printable characters it holds; one that cannot be
// written where it goes is refused here, before any connection, with its name and never its value.
import { readFile, writeFile, chmod, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { Secret } from './secret.ts';
import { SecretsError } from '../errors.ts';
import { envValue, FormatError, goIniValue, optionValue, yamlString } from '../formats/index.ts';
import { codePoint, firstControl } from '../formats/text.ts';

export const SECRET_NAMES = ['db_app_password', 'db_replication_password', 'db_verify_password', 'db_exporter_password'] as const;
/** Secrets tandem cannot make up: read when given (store or environment), never generated. */
export const PROVIDED_SECRET_NAMES = ['smtp_password'] as const;
export type SecretName = (typeof SECRET_NAMES)[number] | (typeof PROVIDED_SECRET_NAMES)[number];
export type Secrets = Record<(typeof SECRET_NAMES)[number], Secret> & Partial<Record<(typeof PROVIDED_SECRET_NAMES)[number], Secret>>;

export const SECRET_MIN_LENGTH = 12;
/**
 * The replication password goes into CHANGE MASTER/REPLICATION SOURCE TO: MySQL 8 takes at most
 * 32 characters; MariaDB 96 bytes, kept in utf8mb3, so a character outside the Basic
 * Multilingual Plane (an emoji) would come back as "?" (measured on MariaDB 10.11).
 */
export const REPLICATION_PASSWORD_MAX_LENGTH = 32;

export function generatePassword(): string {
  // URL-safe alphabet: no quoting needed anywhere; 32 characters.
  return randomBytes(24).toString('base64url');
}

export function envName(name: SecretName): string {
  return `TANDEM_SECRET_${name.toUpperCase()}`;
}

const ASTRAL = /[\u{10000}-\u{10ffff}]/u;

/** Why `value` cannot be this secret, or undefined. Never quotes the value. */
export function secretProblem(name: SecretName, value: unknown): string | undefined {
  if (typeof value !== 'string') {
    const kind = value === null ? 'empty' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a map' : `a ${typeof value}`;
    return `must be text, and is ${kind}: put the password in quotes, or remove the line to have one generated`;
  }
  const control = firstControl(value);
  if (control !== undefined) return `holds a control character (${codePoint(control)}): newlines, tabs, NUL and other control characters are refused`;
  const length = [...value].length;
  if (length < SECRET_MIN_LENGTH) return `is shorter than ${SECRET_MIN_LENGTH} characters`;
  if (name === 'db_replication_password') {
    if (length > REPLICATION_PASSWORD_MAX_LENGTH) return `is longer than ${REPLICATION_PASSWORD_MAX_LENGTH} characters, the most MySQL and MariaDB keep for replication`;
    if (ASTRAL.test(value)) return 'holds a character outside the Basic Multilingual Plane (such as an emoji), which MariaDB cannot keep for replication';
  }
  // Where the passwords are written: the app's environment file and the replica's option file.
  // The exporter's password also goes into its own option file, the SMTP password into Alertmanager's YAML.
  const extra = name === 'db_exporter_password' ? [goIniValue] : name === 'smtp_password' ? [yamlString] : [];
  for (const write of name === 'smtp_password' ? extra : [envValue, optionValue, ...extra]) {
    try {
      write(value);
    } catch (err) {
      if (err instanceof FormatError) return err.message;
      throw err;
    }
  }
  return undefined;
}

/** The file's map of name -> value. A YAML error names line and column only: the text may be a password. */
function parseStore(text: string, file: string): Record<string, unknown> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  const error = doc.errors[0];
  if (error) {
    const at = lineCounter.linePos(error.pos[0]);
    throw new SecretsError(`${file}: line ${at.line}, column ${at.col}: not valid YAML (${error.code}); quote each value: 'like this', a ' inside written twice`);
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch {
    throw new SecretsError(`${file}: not valid YAML (an alias that cannot be resolved, or too many aliases)`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new SecretsError(`${file}: must be a map of secret name to value`);
  return data as Record<string, unknown>;
}

async function readStore(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    const st = await stat(file);
    if ((st.mode & 0o077) !== 0) await chmod(file, 0o600);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SecretsError(`${file}: cannot read the secrets store (${(err as Error).message})`);
  }
  return parseStore(text, file);
}

/**
 * Read the store; when `create` is set, generate what is missing and write the file (0600).
 * Without `create` (plan), missing values are generated in memory only, so plan changes nothing.
 */
export async function loadSecrets(file: string, opts: { create: boolean; env?: NodeJS.ProcessEnv }): Promise<Secrets> {
  const env = opts.env ?? process.env;
  const existing = await readStore(file);
  const stored = existing ?? {};
  const values: Record<string, string> = {};
  const problems: string[] = [];
  const missing: SecretName[] = [];
  for (const name of SECRET_NAMES) {
    const fromEnv = env[envName(name)];
    // A variable that is set wins, even when empty: an empty one is refused, not replaced.
    const [where, value] = fromEnv !== undefined ? [envName(name), fromEnv] : name in stored ? [`${file}: ${name}`, stored[name]] : [];
    if (where === undefined) {
      values[name] = generatePassword();
      missing.push(name);
      continue;
    }
    const problem = secretProblem(name, value);
    if (problem) problems.push(`${where}: ${problem}`);
    else values[name] = value as string;
  }
  const provided: Partial<Record<SecretName, Secret>> = {};
  for (const name of PROVIDED_SECRET_NAMES) {
    const fromEnv = env[envName(name)];
    const [where, value] = fromEnv !== undefined ? [envName(name), fromEnv] : name in stored ? [`${file}: ${name}`, stored[name]] : [];
    if (where === undefined) continue;
    const problem = secretProblem(name, value);
    if (problem) problems.push(`${where}: ${problem}`);
    else provided[name] = new Secret(value as string);
  }
  if (problems.length) throw new SecretsError(problems.join('\n'));
  if (missing.length && opts.create) {
    const merged = { ...stored, ...Object.fromEntries(missing.map((n) => [n, values[n]])) };
    try {
      await writeFile(file, `# tandem secrets: generated, keep private (mode 0600)\n${stringify(merged)}`, { mode: 0o600 });
      if (existing) await chmod(file, 0o600);
    } catch (err) {
      // EACCES, EISDIR, ENOSPC...: say which file and why, never what it would hold.
      throw new SecretsError(`${file}: cannot write the secrets store (${(err as NodeJS.ErrnoException).code ?? (err as Error).name})`, { cause: err });
    }
  }
  return { ...provided, ...Object.fromEntries(SECRET_NAMES.map((n) => [n, new Secret(values[n]!)])) } as Secrets;
}
