// The content hash that names a release, and a cache that spares reading every source file on a
// run where nothing changed: when each file's name, size, inode, mtime and ctime are what they
// were when the hash was computed, the hash is too. (As git's index: a file rewritten in place
// changes its ctime, which nobody can set back.) The hash itself is computed as it always was, so
// release ids do not change.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

const SKIP = new Set(['node_modules', '.git']);

/**
 * A file written this recently may be written again within the clock's granularity without its
 * times changing: such a listing is not recorded (git calls these entries "racy").
 */
const SETTLED_MS = 2000;

interface SourceFile {
  rel: string;
  abs: string;
}

async function listSources(dir: string): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = (await readdir(path.join(dir, rel), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (SKIP.has(e.name)) continue;
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push({ rel: p, abs: path.join(dir, p) });
    }
  };
  await walk('');
  return out;
}

/** A hash of every source file (names and contents), node_modules and .git excluded. */
async function hashContents(files: SourceFile[]): Promise<string> {
  const h = createHash('sha256');
  for (const f of files) h.update(f.rel).update('\0').update(await readFile(f.abs)).update('\0');
  return h.digest('hex').slice(0, 12);
}

export interface SourceHashOptions {
  /** Folder of the cache (the release cache's `source-hashes`); none: always read every file. */
  cacheDir?: string;
  /** Epoch milliseconds; the tests move it. */
  now?: () => number;
}

interface CacheEntry {
  dir: string;
  listing: string;
  hash: string;
}

/**
 * A hash of every source file (names and contents), node_modules and .git excluded: a superset
 * of what the release ships, so any change that could matter gives a new release id.
 */
export async function sourceHash(dir: string, opts: SourceHashOptions = {}): Promise<string> {
  const files = await listSources(dir);
  if (!opts.cacheDir) return hashContents(files);
  const abs = path.resolve(dir);
  const stats = await Promise.all(files.map((f) => stat(f.abs, { bigint: true })));
  const listing = createHash('sha256')
    .update(abs)
    .update(JSON.stringify(files.map((f, i) => [f.rel, stats[i]!.size, stats[i]!.ino, stats[i]!.mtimeNs, stats[i]!.ctimeNs].map(String))))
    .digest('hex');
  const entryFile = path.join(opts.cacheDir, `${createHash('sha256').update(abs).digest('hex').slice(0, 16)}.json`);
  const cached = await readFile(entryFile, 'utf8').then((t) => JSON.parse(t) as CacheEntry, () => undefined);
  if (cached?.dir === abs && cached.listing === listing && typeof cached.hash === 'string') return cached.hash;

  const hash = await hashContents(files);
  const newest = Math.max(0, ...stats.map((s) => Number(s.mtimeMs > s.ctimeMs ? s.mtimeMs : s.ctimeMs)));
  if ((opts.now ?? Date.now)() - newest >= SETTLED_MS) {
    // Only saves reading the files next time: a cache folder that cannot be written leaves every
    // run as it was before the cache, so its failure is no failure of the run.
    await mkdir(opts.cacheDir, { recursive: true })
      .then(() => writeFile(`${entryFile}.${process.pid}.tmp`, JSON.stringify({ dir: abs, listing, hash } satisfies CacheEntry)))
      .then(() => rename(`${entryFile}.${process.pid}.tmp`, entryFile))
      .catch(() => undefined);
  }
  return hash;
}
