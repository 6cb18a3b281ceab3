// Building a release folder on the control machine: the files `npm pack` would publish (so
// package.json "files", .npmignore and .gitignore decide, as users expect), the lockfile, the
// production dependencies and a VERSION file. Servers then need nothing but Node from apt.
import { execFile } from 'node:child_process';
import { access, chmod, copyFile, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { TandemError } from '../errors.ts';
import { VERSION_RE } from './version.ts';

const exec = promisify(execFile);


const exists = (p: string) => access(p).then(() => true, () => false);

export interface BuildOptions {
  source: string;
  outDir: string;
  version: string;
  /** The file the unit starts, relative to the release (inventory app.entry). */
  entry: string;
  npm?: string;
}

async function run(cmd: string, args: string[], cwd: string, what: string): Promise<string> {
  try {
    return (await exec(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new TandemError(`${what} failed in ${cwd}: ${(e.stderr || e.stdout || e.message).trim()}`, { cause: err });
  }
}

async function listFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, p)));
    else out.push(p);
  }
  return out;
}

/** Builds the release into outDir (which must not exist); returns its files, sorted. */
export async function buildReleaseDir(opts: BuildOptions): Promise<string[]> {
  const npm = opts.npm ?? 'npm';
  if (!VERSION_RE.test(opts.version)) {
    throw new TandemError(`release version ${JSON.stringify(opts.version)} is not usable: letters, digits, . _ + - (at most 64), starting with a letter or digit`);
  }
  if (await exists(opts.outDir)) throw new TandemError(`${opts.outDir} already exists`);
  await mkdir(path.dirname(opts.outDir), { recursive: true });
  const staging = await mkdtemp(`${opts.outDir}.tmp-`);
  try {
    const packed = JSON.parse(await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', staging], opts.source, 'npm pack')) as { filename: string }[];
    const dir = path.join(staging, 'release');
    await mkdir(dir);
    await run('tar', ['-xzf', path.join(staging, packed[0]!.filename), '-C', dir, '--strip-components=1'], staging, 'unpacking npm pack');
    // npm pack never ships package-lock.json; the release installs from it.
    if (await exists(path.join(opts.source, 'package-lock.json'))) await copyFile(path.join(opts.source, 'package-lock.json'), path.join(dir, 'package-lock.json'));
    if (!(await exists(path.join(dir, opts.entry)))) {
      throw new TandemError(
        `app.entry: ${opts.entry} is not in the release built from ${opts.source} ` +
          `(is it missing, or left out by package.json "files", .npmignore or .gitignore?)`,
      );
    }
    const common = ['--omit=dev', '--omit=peer', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'];
    const locked = await exists(path.join(dir, 'package-lock.json')) || (await exists(path.join(dir, 'npm-shrinkwrap.json')));
    await run(npm, locked ? ['ci', ...common] : ['install', '--no-package-lock', ...common], dir, 'installing production dependencies');
    await writeFile(path.join(dir, 'VERSION'), `${opts.version}\n`);
    await chmod(dir, 0o755); // Nginx must reach public/
    await rename(dir, opts.outDir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return (await listFiles(opts.outDir)).sort();
}
