// Start-up: `tandem --help` and each verb's --help load none of the heavy modules (the lab,
// SSH, MySQL, templates, listr2, the release builder), whether the sources run (tsx) or the
// bundle in dist/ that bin/tandem.js runs; and bin/tandem.js runs dist/ only while it is fresh.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NODE } from '../fixtures/app-tests.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** A loader hook that appends the URL of every module loaded (CommonJS packages: their entry) to $TANDEM_MODULE_LOG. */
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) { appendFileSync(process.env.TANDEM_MODULE_LOG, url + '\\n'); return next(url, context); }`;
const REGISTER = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`)}`;

/** Runs node with these arguments in the repository; returns its output and the modules it loaded. */
function loaded(nodeArgs: string[], cwd = ROOT): { status: number | null; stdout: string; stderr: string; modules: string[] } {
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-modules-')), 'log');
  fs.writeFileSync(log, '');
  try {
    const r = spawnSync(NODE, ['--import', REGISTER, ...nodeArgs], { cwd, encoding: 'utf8', env: { ...process.env, TANDEM_MODULE_LOG: log, NO_COLOR: '1' } });
    const modules = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, modules };
  } finally {
    fs.rmSync(path.dirname(log), { recursive: true, force: true });
  }
}

const HEAVY = [/node_modules\/(listr2|mysql2|ejs|node-ssh|ssh2|diff|zod|yaml)\//, /\/src\/(lab|engine\/(?!timings\.)|release\/(prepare|build)|ssh|deploy|verify|status|inventory)\/?/, /\/recipes\//];
const heavyOf = (modules: string[]) => modules.filter((m) => HEAVY.some((re) => re.test(`/${m}`)));

const HELPS = [['--help'], ['apply', '--help'], ['deploy', '--help'], ['lab', 'up', '--help'], ['verify', '--help']];

test('--help, from the sources, loads no heavy module', () => {
  for (const args of HELPS) {
    const r = loaded(['--import', 'tsx', 'src/cli/main.ts', ...args]);
    assert.is(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /Usage: tandem/);
    assert.equal(heavyOf(r.modules), [], args.join(' '));
  }
});

test('bin/tandem.js runs the bundle once built, and its --help loads no heavy module', () => {
  const build = spawnSync(NODE, ['scripts/bundle.js'], { cwd: ROOT, encoding: 'utf8' });
  assert.is(build.status, 0, build.stdout + build.stderr);
  // Which sources each file of the bundle holds, as esbuild wrote it.
  const meta = JSON.parse(fs.readFileSync(path.join(ROOT, 'dist/meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const sourcesOf = (url: string) => Object.keys(meta.outputs[path.relative(ROOT, new URL(url).pathname)]?.inputs ?? {});
  for (const args of HELPS) {
    const r = loaded(['bin/tandem.js', ...args]);
    assert.is(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr, '', 'no note about running the sources');
    assert.ok(r.modules.some((m) => m.endsWith('/dist/main.js')), 'dist/main.js ran');
    assert.not.ok(r.modules.some((m) => m.endsWith('.ts')), 'no TypeScript source was loaded');
    const sources = r.modules.filter((m) => m.includes('/dist/')).flatMap(sourcesOf);
    assert.ok(sources.includes('src/cli/verbs/converge.ts'), `the bundle's map names what ran: ${sources.join(' ')}`);
    assert.equal(heavyOf([...sources, ...r.modules]), [], args.join(' '));
  }
  // And the work itself is there, in files --help did not load.
  assert.ok(heavyOf(Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs))).length > 0);
});

test('the bundle loads the CommonJS packages it imports on demand: plan on a fresh store makes tandem\'s CA, then meets the closed port', () => {
  // Run after the test above built dist/. In the bundle a CommonJS package's exports are only
  // `default`: reading @peculiar/x509's named exports crashed here before the first connection.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-bundle-ca-'));
  try {
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')]);
    fs.writeFileSync(path.join(dir, 'known_hosts'), '');
    // Port 1 on loopback: closed, so the run stops at the connection (exit 3).
    fs.writeFileSync(
      path.join(dir, 'inv.yml'),
      'name: bundle\ndomain: www.example.test\nssh: { user: root, key: key, known_hosts: known_hosts }\nhosts:\n  db-1: { address: 127.0.0.1, port: 1, roles: [lb, web, app, db-primary] }\n',
    );
    const r = spawnSync(NODE, ['bin/tandem.js', 'plan', '-i', path.join(dir, 'inv.yml')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    assert.not.match(r.stdout + r.stderr, /internal error/);
    assert.match(r.stdout, /db-1 \(127\.0\.0\.1:1\) is unreachable/);
    assert.is(r.status, 3, r.stdout + r.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bin/tandem.js runs the sources, and says so, when dist/ is missing or older than a source', () => {
  // A copy of the bin with a one-line CLI in src/ and in dist/ that says which one ran.
  const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-bin-'));
  try {
    fs.mkdirSync(path.join(pkg, 'bin'));
    fs.copyFileSync(path.join(ROOT, 'bin/tandem.js'), path.join(pkg, 'bin/tandem.js'));
    fs.writeFileSync(path.join(pkg, 'package.json'), '{"type":"module"}\n');
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
    const write = (rel: string, text: string, mtime: Date) => {
      fs.mkdirSync(path.dirname(path.join(pkg, rel)), { recursive: true });
      fs.writeFileSync(path.join(pkg, rel), text);
      fs.utimesSync(path.join(pkg, rel), mtime, mtime);
    };
    const old = new Date('2026-01-01T00:00:00Z');
    const newer = new Date('2026-01-02T00:00:00Z');
    write('src/cli/main.ts', "const from: string = 'sources';\nconsole.log(from);\n", old);
    write('recipes/base.ts', 'export {};\n', old);
    const tandem = () => spawnSync(NODE, [path.join(pkg, 'bin/tandem.js')], { cwd: pkg, encoding: 'utf8' });

    let r = tandem();
    assert.is(r.stdout, 'sources\n', 'dist/ missing');
    assert.match(r.stderr, /^tandem: dist\/ is missing; running the sources .*npm run build/);

    write('dist/main.js', "console.log('dist');\n", newer);
    r = tandem();
    assert.equal([r.stdout, r.stderr], ['dist\n', ''], 'dist/ fresh');

    write('recipes/base.ts', 'export const edited = 1;\n', new Date('2026-01-03T00:00:00Z'));
    r = tandem();
    assert.is(r.stdout, 'sources\n', 'a source edited after the build');
    assert.match(r.stderr, /^tandem: dist\/ is older than recipes\/base\.ts; running the sources/);
  } finally {
    fs.rmSync(pkg, { recursive: true, force: true });
  }
});

test.run();
