// Writing into a guest root from outside never follows a guest symlink onto this machine.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { mkdtemp, mkdir, readFile, readlink, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { applyEdits } from '../../src/lab/edits.ts';
import { writeInto } from '../../src/lab/safe-files.ts';
import { LabError } from '../../src/lab/errors.ts';

let dir = '';
test.before.each(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tandem-lab-files-'));
});
test.after.each(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a symlinked file is replaced, not written through', async () => {
  const root = path.join(dir, 'root');
  const outside = path.join(dir, 'outside.txt');
  await writeFile(outside, 'host file\n');
  await mkdir(path.join(root, 'etc'), { recursive: true });
  await symlink(outside, path.join(root, 'etc/resolv.conf'));
  await writeInto(root, 'etc/resolv.conf', 'guest\n');
  assert.is(await readFile(outside, 'utf8'), 'host file\n');
  assert.is(await readFile(path.join(root, 'etc/resolv.conf'), 'utf8'), 'guest\n');
});

test('a symlinked parent folder is refused', async () => {
  const root = path.join(dir, 'root');
  await mkdir(path.join(dir, 'elsewhere'), { recursive: true });
  await mkdir(root, { recursive: true });
  await symlink(path.join(dir, 'elsewhere'), path.join(root, 'etc'));
  try {
    await writeInto(root, 'etc/hostname', 'x\n');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, LabError);
    assert.match((err as Error).message, /is a symlink inside the guest/);
  }
  assert.equal(await readdir(path.join(dir, 'elsewhere')), []);
});

test('edits: write with mode, remove, mask with a /dev/null symlink, prune keeping some names', async () => {
  const root = path.join(dir, 'root');
  await mkdir(path.join(root, 'var/lib/apt/lists/partial'), { recursive: true });
  await writeFile(path.join(root, 'var/lib/apt/lists/deb_Packages'), 'x');
  await writeFile(path.join(root, 'var/lib/apt/lists/lock'), '');
  await mkdir(path.join(root, 'etc/ssh'), { recursive: true });
  await writeFile(path.join(root, 'etc/ssh/ssh_host_rsa_key'), 'secret');
  await applyEdits(root, [
    { kind: 'write', path: 'root/.ssh/authorized_keys', content: 'k\n', mode: 0o600, dirMode: 0o700 },
    { kind: 'remove', path: 'etc/ssh/ssh_host_rsa_key' },
    { kind: 'symlink', path: 'etc/systemd/system/apt-daily.timer', target: '/dev/null' },
    { kind: 'prune', dir: 'var/lib/apt/lists', keep: ['partial', 'lock'] },
  ]);
  assert.is(await readFile(path.join(root, 'root/.ssh/authorized_keys'), 'utf8'), 'k\n');
  assert.is((await stat(path.join(root, 'root/.ssh/authorized_keys'))).mode & 0o777, 0o600);
  assert.is((await stat(path.join(root, 'root/.ssh'))).mode & 0o777, 0o700);
  assert.equal(await readdir(path.join(root, 'etc/ssh')), []);
  assert.is(await readlink(path.join(root, 'etc/systemd/system/apt-daily.timer')), '/dev/null');
  assert.equal((await readdir(path.join(root, 'var/lib/apt/lists'))).sort(), ['lock', 'partial']);
});

test.run();
