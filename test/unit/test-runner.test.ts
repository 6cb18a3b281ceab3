// How npm test spreads the lab tests over the releases, and the lab inventory variants the lab
// tests derive (any lab: the shared one or a private one on another bridge).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { CORE_FILES, labVariant, readInventory, releaseRuns, withInventory } from '../lab/variants.ts';
import { labConfig, releaseOf } from '../../src/lab/config.ts';

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

test.run();
