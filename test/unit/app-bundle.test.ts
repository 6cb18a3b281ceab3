// buildRelease (examples/app/bundle.mjs): a self-contained release folder that starts with `node src/server.js`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildRelease } from '../../examples/app/bundle.mjs';
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

test('buildRelease produces a self-contained folder that starts with node src/server.js', async () => {
  const outDir = path.join(tmp, 'releases', '1.2.3-test');
  const result = await buildRelease({ outDir, version: '1.2.3-test' });
  assert.is(result.dir, outDir);
  assert.is(result.version, '1.2.3-test');
  assert.is(fs.readFileSync(path.join(outDir, 'VERSION'), 'utf8'), '1.2.3-test\n');
  for (const f of ['VERSION', 'package.json', 'package-lock.json', 'src/server.js', 'src/app.js', 'public/app.css', 'node_modules/mysql2/package.json']) {
    assert.ok(result.files.includes(f), `${f} missing from files`);
    assert.ok(fs.existsSync(path.join(outDir, f)), `${f} missing on disk`);
  }
  assert.ok(!result.files.some((f) => f.startsWith('node_modules/@types/')), 'peer/dev dependencies shipped');
  assert.ok(!result.files.some((f) => f.endsWith('bundle.mjs')), 'the bundler itself shipped');
  assert.equal([...result.files].sort(), result.files);
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

test('buildRelease refuses a non-empty outDir and a bad version, and defaults to package.json version', async () => {
  const used = path.join(tmp, 'used');
  fs.mkdirSync(used);
  fs.writeFileSync(path.join(used, 'x'), '');
  await rejects(buildRelease({ outDir: used }), /not empty/);
  await rejects(buildRelease({ outDir: path.join(tmp, 'bad'), version: '../evil' }), /bad version/);
  assert.not.ok(fs.existsSync(path.join(tmp, 'bad')));

  const r = await buildRelease({ outDir: path.join(tmp, 'default') });
  const pkg = JSON.parse(fs.readFileSync(path.join(r.dir, 'package.json'), 'utf8'));
  assert.is(r.version, pkg.version);
  assert.is(fs.readFileSync(path.join(r.dir, 'VERSION'), 'utf8').trim(), pkg.version);
});

test.run();
