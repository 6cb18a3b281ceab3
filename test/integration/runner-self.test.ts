// The test runner never loses a failure: deliberately broken test files of each kind (a hook that
// throws, a promise nobody awaited that rejects, a test that hangs, a file that crashes while it
// loads, one that exits early) are run in a temporary folder the way `npm test` runs them (a
// folder in one uvu process as for test/unit, a single file in its own process as for test/lab),
// and each run must exit non-zero with the reason in its output and in test/run.ts's tally.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileResult, testFileArgv, uvuFolderArgv } from '../run.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const wrapper = path.join(repo, 'test/fixtures/uvu.ts');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tandem-runner-self-'));

/** Each broken file, and what its run must say. */
const BROKEN: Record<string, { body: string; reason: RegExp }> = {
  'throwing-hook': {
    body: `test.before(() => { throw new Error('the before hook broke'); });\ntest('never runs', () => {});`,
    reason: /before hook: the before hook broke/,
  },
  'throwing-after-hook': {
    body: `test.after(() => { throw new Error('the after hook broke'); });\ntest('passes', () => {});`,
    reason: /after hook: the after hook broke/,
  },
  'rejected-promise': {
    body: `test('forgets a promise', () => { void Promise.reject(new Error('nobody awaited this')); });\ntest('next', () => new Promise((r) => setImmediate(r)));`,
    reason: /unhandled rejection.*nobody awaited this/,
  },
  'hung-test': {
    body: `const hangs = suite('hangs', { timeoutMs: 500 });\nhangs('waits forever', () => new Promise(() => { setInterval(() => {}, 60_000); }));\nhangs.run();`,
    reason: /test "waits forever" did not finish in 0\.5 s/,
  },
  'crashing-file': {
    body: `throw new Error('the file crashed while loading');`,
    reason: /the file crashed while loading/,
  },
  'early-exit': {
    body: `test('exits mid-run', () => { process.exit(0); });\ntest('never reached', () => {});`,
    reason: /without a test summary/,
  },
};

function writeTest(folder: string, name: string, body: string): string {
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `${name}.test.ts`);
  writeFileSync(file, `import { test, suite } from ${JSON.stringify(wrapper)};\n${body}\ntest.run();\n`);
  return file;
}

function run(argv: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: repo, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('a passing file: exit 0, counted as passed, nothing failed (the check below can tell)', async () => {
  const folder = path.join(tmp, 'passing');
  const file = writeTest(folder, 'passing', `test('fine', () => {});\ntest.before(() => {});\ntest.after(() => {});`);
  for (const argv of [uvuFolderArgv(folder), testFileArgv(file)]) {
    const { code, output } = await run(argv);
    assert.is(code, 0, output);
    assert.equal(fileResult(code, output), { passed: 1, failed: 0, skipped: 0, reasons: [] });
  }
});

test('each broken kind, alone: non-zero exit, the reason printed and in the tally, run as a folder and as a file', async () => {
  const results = await Promise.all(
    Object.entries(BROKEN).flatMap(([name, { body }]) => {
      const file = writeTest(path.join(tmp, name), name, body);
      return [
        run(uvuFolderArgv(path.dirname(file))).then((r) => ({ name, how: 'uvu folder', ...r })),
        run(testFileArgv(file)).then((r) => ({ name, how: 'own process', ...r })),
      ];
    }),
  );
  for (const { name, how, code, output } of results) {
    const { reason } = BROKEN[name]!;
    const said = `${name} (${how}):\n${output}`;
    assert.ok(code !== 0, `exit code 0: ${said}`);
    const tally = fileResult(code, output);
    assert.ok(tally.failed > 0, `counted as no failure: ${said}`);
    if (name !== 'early-exit') assert.match(output, reason, said);
    assert.ok(tally.reasons.some((r) => reason.test(r)), `the tally's reasons ${JSON.stringify(tally.reasons)} miss ${reason}: ${said}`);
  }
});

test('all broken kinds in one folder, as test/unit runs: every reason that survives is printed, the run fails', async () => {
  const folder = path.join(tmp, 'all');
  for (const name of ['throwing-hook', 'throwing-after-hook', 'rejected-promise', 'hung-test']) writeTest(folder, name, BROKEN[name]!.body);
  writeTest(folder, 'passing', `test('fine', () => {});`);
  const { code, output } = await run(uvuFolderArgv(folder));
  assert.ok(code !== 0, output);
  for (const name of ['throwing-hook', 'throwing-after-hook', 'rejected-promise', 'hung-test']) assert.match(output, BROKEN[name]!.reason, `${name}:\n${output}`);
  const tally = fileResult(code, output);
  assert.ok(tally.failed >= 3, JSON.stringify(tally));
  assert.ok(tally.passed >= 1, 'the passing file still ran');
});

test.run();
