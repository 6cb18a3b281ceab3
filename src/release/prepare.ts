// Releases are built once on the control machine (production dependencies bundled) and cached
// by content: the same source gives the same release id, so re-runs upload nothing.
import { readFile, mkdir, rm, access } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import os from 'node:os';
import { buildReleaseDir } from './build.ts';
import { VERSION_RE } from './version.ts';
import { sourceHash } from './source-hash.ts';
import { InputError, TandemError } from '../errors.ts';

const exec = promisify(execFile);

/** What the unit starts when the inventory names nothing else. */
export const DEFAULT_ENTRY = 'src/server.js';

export interface Release {
  id: string;
  version: string;
  /** gzip'd tar of the release folder's content. */
  tarball: string;
}

export function releaseCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TANDEM_CACHE ?? path.join(os.homedir(), '.cache', 'tandem', 'releases');
}

/** The application's package.json, or an input error naming where the folder came from. */
async function readPackage(source: string, field: string): Promise<{ version?: unknown }> {
  const file = path.join(source, 'package.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`${field}: ${source} has no readable package.json (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); point ${field} at the application's folder`, { cause: err });
  }
  try {
    const pkg: unknown = JSON.parse(text);
    if (pkg && typeof pkg === 'object' && !Array.isArray(pkg)) return pkg;
  } catch (err) {
    throw new InputError(`${field}: ${file} is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  throw new InputError(`${field}: ${file} is not a JSON object`);
}

export interface PrepareOptions {
  version?: string;
  entry?: string;
  /** Where `source` came from, for messages: app.source (the default) or --source. */
  field?: string;
  /** The environment TANDEM_CACHE is read from. */
  env?: NodeJS.ProcessEnv;
}

export async function prepareRelease(source: string, opts: PrepareOptions = {}): Promise<Release> {
  const field = opts.field ?? 'app.source';
  const pkg = await readPackage(source, field);
  const version = opts.version ?? pkg.version ?? '0.0.0';
  // The version names the release's folder on every server.
  if (typeof version !== 'string' || !VERSION_RE.test(version)) {
    throw new InputError(`${field}: package.json version ${JSON.stringify(version)} cannot name a release: letters, digits, . _ + - (at most 64), starting with a letter or digit`);
  }
  const env = opts.env ?? process.env;
  const cache = releaseCacheDir(env);
  const id = `${version}-${await sourceHash(source, { cacheDir: path.join(cache, 'source-hashes') })}`;
  const tarball = path.join(cache, `${id}.tar.gz`);
  try {
    await access(tarball);
    return { id, version, tarball };
  } catch {
    // not built yet
  }
  try {
    await mkdir(cache, { recursive: true });
  } catch (err) {
    const where = env.TANDEM_CACHE ? `TANDEM_CACHE: ${cache}` : `the release cache ${cache}`;
    throw new InputError(`${where} cannot be used as a folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      cause: err,
      hint: 'point TANDEM_CACHE at a folder you can write to',
    });
  }
  const dir = path.join(cache, id);
  await rm(dir, { recursive: true, force: true });
  try {
    await buildReleaseDir({ source, outDir: dir, version, entry: opts.entry ?? DEFAULT_ENTRY });
    await exec('tar', ['-czf', `${tarball}.tmp`, '-C', dir, '.']);
    await exec('mv', ['-f', `${tarball}.tmp`, tarball]);
  } catch (err) {
    if (err instanceof TandemError) throw err;
    throw new TandemError(`building release ${id} from ${source} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { id, version, tarball };
}
