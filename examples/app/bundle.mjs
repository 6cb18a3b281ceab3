// Build a self-contained release folder of the sample app on the control machine
// (the servers have no npm registry access). Node >= 18, no dependencies.
//
//   import { buildRelease } from './examples/app/bundle.mjs';
//   const { dir, version, files } = await buildRelease({ outDir: '/tmp/rel/1.0.0' });
//
// CLI: node examples/app/bundle.mjs OUT_DIR [VERSION]
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const APP_SOURCE = path.dirname(fileURLToPath(import.meta.url));

/** What goes into a release besides node_modules/ and VERSION. */
// FAIL_HEALTH (/healthz answers 503) and START_DELAY_MS (a slow start) are the app's own test
// hooks; they travel with the release.
const COPY = ['src', 'public', 'package.json', 'package-lock.json', 'README.md', 'FAIL_HEALTH', 'START_DELAY_MS'];
const REQUIRED = ['src', 'package.json'];
const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/;

const exists = (p) => fs.access(p).then(() => true, () => false);

function run(cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}) in ${cwd}:\n${out.trim()}`));
    });
  });
}

async function listFiles(root, rel = '') {
  const out = [];
  for (const entry of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(root, p)));
    else out.push(p);
  }
  return out;
}

/**
 * Produce a self-contained release folder at outDir: src/, public/, package.json,
 * package-lock.json, README.md, production node_modules/ (npm ci --omit=dev --omit=peer,
 * or npm install without a lockfile) and a VERSION file.
 * outDir must not exist or be empty; it is filled in a sibling temp folder and renamed.
 *
 * @param {{ source?: string, outDir: string, version?: string, npm?: string }} opts
 * @returns {Promise<{ dir: string, version: string, files: string[] }>} files: sorted, relative, '/'-separated
 */
export async function buildRelease({ source = APP_SOURCE, outDir, version, npm = 'npm' } = {}) {
  if (!outDir) throw new Error('buildRelease: outDir is required');
  const src = path.resolve(source);
  const dir = path.resolve(outDir);
  for (const name of REQUIRED) {
    if (!(await exists(path.join(src, name)))) throw new Error(`buildRelease: ${path.join(src, name)} is missing`);
  }
  const pkg = JSON.parse(await fs.readFile(path.join(src, 'package.json'), 'utf8'));
  const ver = String(version ?? pkg.version ?? '').trim();
  if (!VERSION_RE.test(ver)) throw new Error(`buildRelease: bad version ${JSON.stringify(ver)}`);
  if (await exists(dir)) {
    if ((await fs.readdir(dir)).length) throw new Error(`buildRelease: ${dir} exists and is not empty`);
    await fs.rmdir(dir);
  }

  await fs.mkdir(path.dirname(dir), { recursive: true });
  const staging = await fs.mkdtemp(`${dir}.tmp-`);
  try {
    for (const name of COPY) {
      const from = path.join(src, name);
      if (await exists(from)) await fs.cp(from, path.join(staging, name), { recursive: true });
    }
    const common = ['--omit=dev', '--omit=peer', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'];
    const hasLock = await exists(path.join(staging, 'package-lock.json'));
    await run(npm, hasLock ? ['ci', ...common] : ['install', '--no-package-lock', ...common], staging);
    await fs.writeFile(path.join(staging, 'VERSION'), ver + '\n');
    await fs.chmod(staging, 0o755); // mkdtemp makes it 0700; Nginx must reach public/
    await fs.rename(staging, dir);
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    throw err;
  }
  const files = (await listFiles(dir)).sort();
  return { dir, version: ver, files };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const [outDir, version] = process.argv.slice(2);
  if (!outDir) {
    console.error('usage: node bundle.mjs OUT_DIR [VERSION]');
    process.exit(2);
  }
  buildRelease({ outDir, version }).then(
    (r) => console.log(`release ${r.version} built in ${r.dir} (${r.files.length} files)`),
    (err) => { console.error(err.message); process.exit(1); },
  );
}
