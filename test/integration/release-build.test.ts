// buildReleaseDir (src/release/build.ts): what `npm pack` would publish, the lockfile, production
// dependencies and VERSION; the sample app's release starts with `node src/server.js`.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildReleaseDir } from '../../src/release/build.ts';
import { prepareRelease } from '../../src/release/prepare.ts';
import { TandemError } from '../../src/errors.ts';
import { closedPort, NODE, rejects } from '../fixtures/app-tests.ts';


let tmp = '';

test.before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-app-release-'));
});
test.after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});


function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

const SAMPLE = path.resolve(import.meta.dirname, '../../examples/app');

test('the sample app: a self-contained folder that starts with node src/server.js', async () => {
  const outDir = path.join(tmp, 'releases', '1.2.3-test');
  const files = await buildReleaseDir({ source: SAMPLE, outDir, version: '1.2.3-test', entry: 'src/server.js' });
  assert.is(fs.readFileSync(path.join(outDir, 'VERSION'), 'utf8'), '1.2.3-test\n');
  for (const f of ['VERSION', 'package.json', 'package-lock.json', 'src/server.js', 'src/app.js', 'public/app.css', 'node_modules/mysql2/package.json']) {
    assert.ok(files.includes(f), `${f} missing from files`);
    assert.ok(fs.existsSync(path.join(outDir, f)), `${f} missing on disk`);
  }
  assert.ok(!files.some((f) => f.startsWith('node_modules/@types/')), 'peer/dev dependencies shipped');
  assert.equal([...files].sort(), files);
  assert.is(fs.statSync(outDir).mode & 0o777, 0o755);
  assert.equal(fs.readdirSync(path.dirname(outDir)), ['1.2.3-test'], 'temp folder left behind');

  // Run it from a copy outside the repository so nothing resolves from the repo's node_modules.
  const dead = await closedPort();
  const child = spawn(NODE, ['src/server.js'], {
    cwd: outDir,
    env: { PATH: process.env.PATH ?? '', APP_PORT: '0', DB_PRIMARY_PORT: String(dead), DB_LOCAL_PORT: String(dead), APP_SERVER_NAME: 'rel-test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`release did not start:\n${out}`)), 10000);
      child.stdout.on('data', () => {
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
      exited.then((code) => { clearTimeout(timer); reject(new Error(`release exited ${code}:\n${out}`)); });
    });
    const v = await get(port, '/version');
    assert.is(v.body.trim(), '1.2.3-test'); // from the VERSION file

    let h = await get(port, '/healthz');
    assert.is(h.status, 503);
    assert.is(JSON.parse(h.body).status, 'error');

    fs.writeFileSync(path.join(outDir, 'FAIL_HEALTH'), '');
    h = await get(port, '/healthz');
    assert.is(h.status, 503);
    assert.equal(JSON.parse(h.body).checks, { forced: 'FAIL_HEALTH' });
    fs.rmSync(path.join(outDir, 'FAIL_HEALTH'));
    h = await get(port, '/healthz');
    assert.is(JSON.parse(h.body).status, 'error');

    child.kill('SIGTERM');
    assert.is(await exited, 0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

/** A small app of another shape than the sample: entry at the root, code in lib/, a dev file. */
function userApp(extra: Record<string, string> = {}, pkg: Record<string, unknown> = {}): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'user-app-'));
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'shop', version: '2.0.0', main: 'index.js', ...pkg }),
    'index.js': "import { port } from './lib/config.js';\nconsole.log(port);\n",
    'lib/config.js': 'export const port = 3000;\n',
    'public/logo.svg': '<svg/>',
    ...extra,
  };
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

test('a user app of another shape ships whole; .npmignore and package.json "files" are honoured', async () => {
  const source = userApp({ '.npmignore': 'notes/\n', 'notes/todo.md': 'secret plans', 'node_modules/junk/index.js': '' });
  const files = await buildReleaseDir({ source, outDir: path.join(tmp, 'shop-1'), version: '2.0.0', entry: 'index.js' });
  assert.equal(files, ['VERSION', 'index.js', 'lib/config.js', 'package.json', 'public/logo.svg']);

  const limited = userApp({}, { files: ['index.js', 'lib/'] });
  const only = await buildReleaseDir({ source: limited, outDir: path.join(tmp, 'shop-2'), version: '2.0.0', entry: 'index.js' });
  assert.equal(only, ['VERSION', 'index.js', 'lib/config.js', 'package.json']);
});

test('an entry the release does not contain is refused, naming app.entry and the likely cause', async () => {
  const source = userApp();
  const err = await buildReleaseDir({ source, outDir: path.join(tmp, 'shop-3'), version: '2.0.0', entry: 'src/server.js' }).catch((e) => e);
  assert.instance(err, TandemError);
  assert.match(err.message, /^app\.entry: src\/server\.js is not in the release built from .*user-app-.*\(is it missing, or left out by package\.json "files", \.npmignore or \.gitignore\?\)$/);
  assert.not.ok(fs.existsSync(path.join(tmp, 'shop-3')));
  assert.equal(fs.readdirSync(tmp).filter((f) => f.startsWith('shop-3')), [], 'no temporary folder left behind');
});

test('a bad version and an existing folder are refused; prepareRelease reads the version from package.json', async () => {
  const used = path.join(tmp, 'used');
  fs.mkdirSync(used);
  await rejects(buildReleaseDir({ source: SAMPLE, outDir: used, version: '1.0.0', entry: 'src/server.js' }), /already exists/);
  await rejects(buildReleaseDir({ source: SAMPLE, outDir: path.join(tmp, 'bad'), version: '../evil', entry: 'src/server.js' }), /release version "\.\.\/evil" is not usable/);
  assert.not.ok(fs.existsSync(path.join(tmp, 'bad')));
  process.env.TANDEM_CACHE = path.join(tmp, 'cache');
  try {
    const r = await prepareRelease(userApp(), { entry: 'index.js' });
    assert.is(r.version, '2.0.0');
    assert.match(r.id, /^2\.0\.0-[0-9a-f]{12}$/);
    assert.ok(fs.existsSync(r.tarball));
  } finally {
    delete process.env.TANDEM_CACHE;
  }
});

test.run();
