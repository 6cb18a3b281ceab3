// How npm test spreads the lab tests over the releases, and the lab inventory variants the lab
// tests derive (any lab: the shared one or a private one on another bridge).
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CORE_FILES, labVariant, readInventory, releaseRuns, withInventory } from '../lab/variants.ts';
import { labConfig, releaseOf } from '../../src/lab/config.ts';
import { fileResult } from '../run.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const LAB = path.join(repo, 'inventory/lab.yml');

test('every lab file on the inventory own release, the core scenarios on the other', () => {
  const files = ['test/lab/batch.test.ts', 'test/lab/deploy.test.ts', 'test/lab/lab.test.ts', 'test/lab/stack.test.ts'];
  assert.equal(releaseRuns(files, 'trixie'), [
    { release: 'trixie', files },
    { release: 'bookworm', files: ['test/lab/stack.test.ts', 'test/lab/deploy.test.ts'] },
  ]);
  assert.equal(releaseRuns(files, 'bookworm').map((r) => r.release), ['bookworm', 'trixie']);
  assert.equal(CORE_FILES, ['test/lab/stack.test.ts', 'test/lab/deploy.test.ts']);
});

test('the CLI gets the lab inventory after its verb, unless it names one', () => {
  assert.equal(withInventory(['apply', '--json'], '/l.yml'), ['apply', '-i', '/l.yml', '--json']);
  assert.equal(withInventory(['lab', 'ssh', 'web-01', 'ls'], '/l.yml'), ['lab', 'ssh', '-i', '/l.yml', 'web-01', 'ls']);
  assert.equal(withInventory(['plan', '-i', 'x.yml'], '/l.yml'), ['plan', '-i', 'x.yml']);
});

test('a variant: the same lab (absolute paths, same known_hosts and secrets) with its changes', async () => {
  const file = labVariant('unit-bookworm', (d) => {
    d.lab.release = 'bookworm';
    d.lab.hosts = { 'web-02': { release: 'trixie' } };
  }, LAB);
  const base = readInventory(LAB);
  const variant = readInventory(file);
  assert.is(variant.ssh.key, base.ssh.key);
  assert.is(variant.ssh.knownHosts, base.ssh.knownHosts);
  assert.is(variant.secretsFile, base.secretsFile);
  assert.is(variant.app.source, base.app.source);
  assert.equal(variant.lab && { ...variant.lab, release: 'trixie', hostReleases: {} }, base.lab);
  const config = await labConfig(file);
  assert.is(releaseOf(config, 'web-01'), 'bookworm');
  assert.is(releaseOf(config, 'web-02'), 'trixie');
});

const SUMMARY = (total: number, passed: number) => `\n  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   0\n  Duration:  3.00ms\n`;

test('a test process tallied: uvu counts, failures uvu does not count, crashes and early exits', () => {
  assert.equal(fileResult(0, SUMMARY(3, 3)), { passed: 3, failed: 0, skipped: 0, reasons: [] });
  const failedTest = `a.test.ts\n✘ •   (1 / 2)\n\n   FAIL  "adds up"\n    Expected values to be strictly equal:  (is)\n${SUMMARY(2, 1)}`;
  assert.equal(fileResult(1, failedTest), { passed: 1, failed: 1, skipped: 0, reasons: ['test "adds up": Expected values to be strictly equal:  (is)'] });
  const hook = `${SUMMARY(2, 0)}\n!! 1 failure(s) uvu does not count:\n!!   a.test.ts: before hook: no database\n`;
  assert.equal(fileResult(1, hook), { passed: 0, failed: 3, skipped: 0, reasons: ['a.test.ts: before hook: no database'] });
  // Exit 0 with no summary (a test called process.exit): a failure all the same.
  assert.equal(fileResult(0, '• • '), { passed: 0, failed: 1, skipped: 0, reasons: ['exited 0 without a test summary: • •'] });
  const crash = 'Error: Cannot find module x\n    at load (node:internal)\n';
  assert.equal(fileResult(1, crash).reasons, ['exited 1 without a test summary: Error: Cannot find module x']);
  assert.equal(fileResult(1, SUMMARY(1, 1)).failed, 1, 'non-zero after passing tests');
});

test("every test file takes test/suite from test/fixtures/uvu.ts, never from 'uvu' (whose hooks lose errors)", () => {
  const files = ['unit', 'integration', 'lab'].flatMap((dir) =>
    readdirSync(path.join(repo, 'test', dir))
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => path.join('test', dir, f)),
  );
  assert.ok(files.length > 40, `found ${files.length} test files`);
  // An import statement, not any text: this file's own test title says "from 'uvu'".
  const direct = files.filter((f) => /^import\b[^;]*\bfrom ['"]uvu['"]/m.test(readFileSync(path.join(repo, f), 'utf8')));
  assert.equal(direct, []);
});

test.run();
