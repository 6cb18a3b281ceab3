// known_hosts: plain, hashed (HashKnownHosts), wildcard and negated entries find a host's keys;
// @revoked keys are refused even with --accept-new-host-keys; @cert-authority lines pin nothing.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHmac, randomBytes } from 'node:crypto';
import {
  checkHostKey,
  hashHostName,
  hostFieldMatches,
  keysForHost,
  parseKnownHosts,
  pinHostKey,
  readKnownHosts,
  type HostKeyCheck,
  type HostKeys,
} from '../../src/ssh/known-hosts.ts';
import { HostKeyError } from '../../src/errors.ts';

// Two ed25519 host keys and the lines `ssh-keygen -H` wrote for them (OpenSSH 9, HashKnownHosts):
// KEY_A for 10.77.0.11 (port 22), KEY_B for [127.0.0.1]:2222.
const KEY_A = 'AAAAC3NzaC1lZDI1NTE5AAAAILnW0Q3ipV1XOJriQdPr0g3BN1aXb/vJE5Ucn7yieJOX';
const KEY_B = 'AAAAC3NzaC1lZDI1NTE5AAAAIJhthSBkwdmGyKtB/UfI4ke2BRW5LfibOBj5LcI5AGcb';
const HASHED_BY_OPENSSH = `|1|kMJkOUl7RxPVJmgyznoT6mueUvw=|aeR3Cp3K3X2y919MLbpgnTyGCzA= ssh-ed25519 ${KEY_A}
|1|patvAELfKzVXJAfFcpm4dig/kHg=|GPXUkgH3GiS/iejsXbm6uxz2WVk= ssh-ed25519 ${KEY_B}
`;
const blob = (b64: string) => Buffer.from(b64, 'base64');

test('hashed lines written by ssh-keygen -H find their host, by address and by [address]:port', () => {
  const entries = parseKnownHosts(HASHED_BY_OPENSSH);
  assert.equal(keysForHost(entries, '10.77.0.11', 22).pinned, [{ type: 'ssh-ed25519', blob: KEY_A }]);
  assert.equal(keysForHost(entries, '127.0.0.1', 2222).pinned, [{ type: 'ssh-ed25519', blob: KEY_B }]);
  assert.equal(keysForHost(entries, '10.77.0.12', 22).pinned, [], 'another address');
  assert.equal(keysForHost(entries, '10.77.0.11', 2222).pinned, [], 'the same address on another port');
  assert.equal(keysForHost(entries, '127.0.0.1', 22).pinned, []);
});

test('a hashed host is HMAC-SHA1 of the name keyed by the salt; hashHostName writes what OpenSSH reads', () => {
  const salt = randomBytes(20);
  const mac = createHmac('sha1', salt).update('[10.0.0.5]:2200').digest('base64');
  const field = `|1|${salt.toString('base64')}|${mac}`;
  assert.ok(hostFieldMatches(field, '[10.0.0.5]:2200'));
  assert.not.ok(hostFieldMatches(field, '10.0.0.5'));
  assert.is(hashHostName('[10.0.0.5]:2200', salt), field);
  assert.not.ok(hostFieldMatches('|2|abc|def', '10.0.0.5'), 'an unknown hash version matches nothing');
  assert.not.ok(hostFieldMatches('|1|broken', '10.0.0.5'));
});

test('plain host fields: lists, wildcards, negations, no case', () => {
  const table: [string, string, boolean][] = [
    ['10.0.0.1', '10.0.0.1', true],
    ['10.0.0.1', '10.0.0.10', false],
    ['web.example.net,10.0.0.1', '10.0.0.1', true],
    ['10.0.0.*', '10.0.0.7', true],
    ['10.0.0.?', '10.0.0.17', false],
    ['*', '[127.0.0.1]:2222', true],
    ['*,!10.0.0.1', '10.0.0.1', false],
    ['*,!10.0.0.1', '10.0.0.2', true],
    ['[127.0.0.1]:2222', '[127.0.0.1]:2222', true],
    ['[127.0.0.1]:2222', '127.0.0.1', false],
    ['WEB.example.NET', 'web.example.net', true],
    ['10.0.0.1.', '10.0.0.1x', false],
  ];
  for (const [field, name, want] of table) assert.is(hostFieldMatches(field, name), want, `${field} ~ ${name}`);
});

test('markers: @revoked keys are collected for the host, @cert-authority pins nothing, unknown markers are skipped', () => {
  const entries = parseKnownHosts(
    [
      '# comment',
      '',
      `@revoked * ssh-ed25519 ${KEY_B}`,
      `@cert-authority *.example.net,10.77.0.11 ssh-ed25519 ${KEY_B}`,
      `@frobnicate 10.77.0.11 ssh-ed25519 ${KEY_B}`,
      `10.77.0.11 ssh-ed25519 ${KEY_A} a comment`,
      '10.77.0.11 ssh-ed25519',
    ].join('\n'),
  );
  const keys = keysForHost(entries, '10.77.0.11', 22);
  assert.equal(keys.pinned, [{ type: 'ssh-ed25519', blob: KEY_A }], 'only the plain line pins');
  assert.equal(keys.revoked, [{ type: 'ssh-ed25519', blob: KEY_B }]);
  assert.is(keys.certAuthority, true);
  assert.is(keysForHost(entries, '10.77.0.12', 22).certAuthority, false);
});

const CHECK: HostKeyCheck = { where: 'web-01 (10.77.0.11:22)', host: 'web-01', file: '/inv/lab.known_hosts', acceptNew: false };
const none: HostKeys = { pinned: [], revoked: [], certAuthority: false };

function refused(verdict: ReturnType<typeof checkHostKey>): HostKeyError {
  if (verdict.accept) throw new Error('expected the key to be refused');
  assert.instance(verdict.error, HostKeyError);
  assert.is(verdict.error.host, 'web-01');
  return verdict.error;
}

test('checkHostKey: pinned accepted, changed refused with both fingerprints, new refused unless accepted and pinned', () => {
  const pinnedA: HostKeys = { ...none, pinned: [{ type: 'ssh-ed25519', blob: KEY_A }] };
  assert.equal(checkHostKey(pinnedA, blob(KEY_A), CHECK), { accept: true, pin: false });
  const changed = refused(checkHostKey(pinnedA, blob(KEY_B), { ...CHECK, acceptNew: true }));
  assert.match(changed.message, /web-01 \(10\.77\.0\.11:22\): the host key has CHANGED\. Pinned: ssh-ed25519 SHA256:\S+; offered: ssh-ed25519 SHA256:/);
  const unknown = refused(checkHostKey(none, blob(KEY_A), CHECK));
  assert.match(unknown.message, /unknown host key ssh-ed25519 SHA256:\S+ \(not in \/inv\/lab\.known_hosts\)\. .*--accept-new-host-keys/);
  assert.equal(checkHostKey(none, blob(KEY_A), { ...CHECK, acceptNew: true }), { accept: true, pin: true });
});

test('checkHostKey: a @revoked key is refused even with --accept-new-host-keys, and even when also pinned', () => {
  const revokedA: HostKeys = { ...none, revoked: [{ type: 'ssh-ed25519', blob: KEY_A }] };
  const e = refused(checkHostKey(revokedA, blob(KEY_A), { ...CHECK, acceptNew: true }));
  assert.match(e.message, /the host key ssh-ed25519 SHA256:\S+ is marked @revoked in \/inv\/lab\.known_hosts: refused, with or without --accept-new-host-keys/);
  refused(checkHostKey({ ...revokedA, pinned: [{ type: 'ssh-ed25519', blob: KEY_A }] }, blob(KEY_A), CHECK));
  // Another key of a host whose old key was revoked is a new key like any other.
  assert.equal(checkHostKey(revokedA, blob(KEY_B), { ...CHECK, acceptNew: true }), { accept: true, pin: true });
});

test('checkHostKey: a host known only through @cert-authority is unknown, and the message says why', () => {
  const e = refused(checkHostKey({ ...none, certAuthority: true }, blob(KEY_A), CHECK));
  assert.match(e.message, /its @cert-authority line is not used: tandem pins host keys, not certificates/);
});

test('pinHostKey hashes the name when asked, and what it writes is found again', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-kh-'));
  try {
    const file = path.join(dir, 'sub', 'known_hosts');
    assert.equal(await readKnownHosts(file), [], 'a missing file pins nothing');
    await pinHostKey(file, '[127.0.0.1]:2222', blob(KEY_B), { hashed: true });
    await pinHostKey(file, '10.77.0.11', blob(KEY_A));
    const text = fs.readFileSync(file, 'utf8');
    assert.not.match(text, /127\.0\.0\.1/, 'the hashed name does not show the address');
    assert.match(text, /^10\.77\.0\.11 ssh-ed25519 /m);
    const entries = await readKnownHosts(file);
    assert.equal(keysForHost(entries, '127.0.0.1', 2222).pinned, [{ type: 'ssh-ed25519', blob: KEY_B }]);
    assert.equal(keysForHost(entries, '10.77.0.11', 22).pinned, [{ type: 'ssh-ed25519', blob: KEY_A }]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
