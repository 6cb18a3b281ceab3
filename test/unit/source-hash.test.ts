// The release id's content hash and its cache: a run with nothing changed reuses the recorded
// hash instead of reading every file; any change to a file's content still gives a new hash.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sourceHash } from '../../src/release/source-hash.ts';

let root = '';
let app = '';
let cacheDir = '';
test.before.each(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-source-hash-'));
  app = path.join(root, 'app');
  cacheDir = path.join(root, 'cache');
  fs.mkdirSync(path.join(app, 'src'), { recursive: true });
  fs.mkdirSync(path.join(app, 'node_modules', 'dep'), { recursive: true });
  fs.writeFileSync(path.join(app, 'package.json'), '{"name":"app","version":"1.0.0"}\n');
  fs.writeFileSync(path.join(app, 'src', 'server.js'), 'console.log("a é \\"quoted\\" $HOME");\n');
  fs.writeFileSync(path.join(app, 'node_modules', 'dep', 'index.js'), 'module.exports = 1;\n');
});
test.after.each(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** A clock this far after now: the files count as settled. */
const later = () => Date.now() + 60_000;
const cacheFiles = () => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []);

test('the cached hash is the hash of the contents, node_modules left out, and is reused while nothing changed', async () => {
  const plain = await sourceHash(app);
  assert.match(plain, /^[0-9a-f]{12}$/);
  assert.is(await sourceHash(app, { cacheDir, now: later }), plain);
  assert.equal(cacheFiles().length, 1);
  fs.writeFileSync(path.join(app, 'node_modules', 'dep', 'index.js'), 'module.exports = 2;\n');
  assert.is(await sourceHash(app), plain);

  // Reused, not recomputed: a recorded hash is what the next run answers while the files are the same.
  const entry = path.join(cacheDir, cacheFiles()[0]!);
  fs.writeFileSync(entry, fs.readFileSync(entry, 'utf8').replace(plain, 'recorded0000'));
  assert.is(await sourceHash(app, { cacheDir, now: later }), 'recorded0000');
});

test('a file rewritten with the same size and its old mtime still gives a new hash (its ctime moved)', async () => {
  const file = path.join(app, 'src', 'server.js');
  const old = new Date('2026-01-02T03:04:05Z'); // whole seconds: utimes sets it back exactly
  fs.utimesSync(file, old, old);
  const before = await sourceHash(app, { cacheDir, now: later });
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('a é', 'b é'));
  fs.utimesSync(file, old, old);
  assert.is(fs.statSync(file, { bigint: true }).mtimeNs, BigInt(old.getTime()) * 1_000_000n);
  const after = await sourceHash(app, { cacheDir, now: later });
  assert.is.not(after, before);
  assert.is(after, await sourceHash(app));
});

test('a new or removed file gives a new hash', async () => {
  const before = await sourceHash(app, { cacheDir, now: later });
  fs.writeFileSync(path.join(app, 'src', 'extra.js'), '\n');
  const added = await sourceHash(app, { cacheDir, now: later });
  assert.is.not(added, before);
  fs.rmSync(path.join(app, 'src', 'extra.js'));
  assert.is(await sourceHash(app, { cacheDir, now: later }), before);
});

test('files written in the last seconds are not recorded: a second write in the same clock tick could go unseen', async () => {
  const hash = await sourceHash(app, { cacheDir, now: Date.now });
  assert.equal(cacheFiles(), []);
  assert.is(hash, await sourceHash(app));
});

test('a cache folder that cannot be written changes nothing but the speed', async () => {
  fs.writeFileSync(cacheDir, 'a file where the folder should be\n');
  assert.is(await sourceHash(app, { cacheDir, now: later }), await sourceHash(app));
});

test.run();
