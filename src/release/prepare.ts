// Releases are built once on the control machine (production dependencies bundled) and cached
// by content: the same source gives the same release id, so re-runs upload nothing.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, mkdir, rm, access } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import os from 'node:os';
import { buildReleaseDir } from './build.ts';
import { TandemError } from '../errors.ts';

const exec = promisify(execFile);

/** What the unit starts when the inventory names nothing else. */
export const DEFAULT_ENTRY = 'src/server.js';

export interface Release {
  id: string;
  version: string;
  /** gzip'd tar of the release folder's content. */
  tarball: string;
}

const SKIP = new Set(['node_modules', '.git']);

/**
 * A hash of every source file (names and contents), node_modules and .git excluded: a superset
 * of what the release ships, so any change that could matter gives a new release id.
 */
export async function sourceHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    const entries = (await readdir(path.join(dir, rel), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (SKIP.has(e.name)) continue;
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) h.update(p).update('\0').update(await readFile(path.join(dir, p))).update('\0');
    }
  };
  await walk('');
  return h.digest('hex').slice(0, 12);
}

export function releaseCacheDir(): string {
  return process.env.TANDEM_CACHE ?? path.join(os.homedir(), '.cache', 'tandem', 'releases');
}

export async function prepareRelease(source: string, opts: { version?: string; entry?: string } = {}): Promise<Release> {
  try {
    await stat(path.join(source, 'package.json'));
  } catch {
    throw new TandemError(`app.source: ${source} has no package.json; point app.source at the application's folder`);
  }
  const pkg = JSON.parse(await readFile(path.join(source, 'package.json'), 'utf8')) as { version?: string };
  const version = opts.version ?? pkg.version ?? '0.0.0';
  const id = `${version}-${await sourceHash(source)}`;
  const cache = releaseCacheDir();
  const tarball = path.join(cache, `${id}.tar.gz`);
  try {
    await access(tarball);
    return { id, version, tarball };
  } catch {
    // not built yet
  }
  await mkdir(cache, { recursive: true });
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
