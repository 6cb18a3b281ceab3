// Issue 2 on a real lab server: a recipe changes things once, then nothing, in at most 2 remote
// commands; host keys are pinned (unknown refused, changed refused with both fingerprints).
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addressOf, LAB, LAB_INVENTORY, onHost, onHostOk, tandem, tandemJson } from './tandem.ts';
import { resetHosts } from './harness.ts';
import { hashHostName } from '../../src/ssh/known-hosts.ts';
import { labVariant } from './variants.ts';

test.before(async () => {
  await resetHosts(['web-01']);
});

test('apply of the base recipe changes the host once, then reports 0 changed in at most 2 remote commands', () => {
  const first = tandemJson(['apply', '--recipe', 'base', '--limit', 'web-01']);
  assert.is(first.code, 0, first.stderr);
  assert.is(first.json.summary.failed, 0);
  assert.ok(first.json.summary.changed > 0, 'a pristine host needs changes');
  assert.match(onHostOk('web-01', 'cat /etc/tandem/host'), /name=web-01/);

  const second = tandemJson(['apply', '--recipe', 'base', '--limit', 'web-01']);
  assert.is(second.code, 0, second.stderr);
  assert.equal(second.json.summary.changed, 0);
  assert.ok(second.json.roundTrips['web-01'] <= 2, `roundTrips ${second.json.roundTrips['web-01']}`);
  assert.equal(Object.keys(second.json.hosts), ['web-01']);
  console.log(`    no-op apply: ${second.ms} ms wall, ${second.json.durationMs} ms engine, ${second.json.roundTrips['web-01']} remote command(s)`);
});

test('plan shows the diff of a file edited by hand and exits 2; apply puts it back', () => {
  assert.is(onHost('web-01', "echo 'name=someone-else' > /etc/tandem/host").code, 0);
  const plan = tandem(['plan', '--recipe', 'base', '--limit', 'web-01']);
  assert.is(plan.code, 2, plan.stdout + plan.stderr);
  assert.match(plan.stdout, /-name=someone-else/);
  assert.match(plan.stdout, /\+name=web-01/);
  assert.match(onHostOk('web-01', 'cat /etc/tandem/host'), /someone-else/, 'plan changed nothing');
  const apply = tandemJson(['apply', '--recipe', 'base', '--limit', 'web-01']);
  assert.is(apply.json.summary.changed, 1);
  assert.match(onHostOk('web-01', 'cat /etc/tandem/host'), /name=web-01/);
});

let variants = 0;

/** The lab inventory with a known_hosts file of its own holding `content`. */
function inventoryWithKnownHosts(content: string): { file: string; knownHosts: string } {
  const name = `keys-${++variants}`;
  const file = labVariant(name, (d) => {
    d.ssh.known_hosts = `${name}.known_hosts`;
  });
  const knownHosts = path.join(path.dirname(file), `${name}.known_hosts`);
  writeFileSync(knownHosts, content);
  return { file, knownHosts };
}


test('an unknown host key is refused unless --accept-new-host-keys, which pins it', () => {
  const { file, knownHosts } = inventoryWithKnownHosts('');
  const refused = tandem(['plan', '--recipe', 'base', '--limit', 'web-01', '-i', file]);
  assert.is(refused.code, 3, 'exit 3: the host could not be authenticated');
  assert.match(refused.stdout + refused.stderr, /unknown host key ssh-ed25519 SHA256:/);
  assert.match(refused.stdout + refused.stderr, /--accept-new-host-keys/);
  const accepted = tandem(['plan', '--recipe', 'base', '--limit', 'web-01', '-i', file, '--accept-new-host-keys']);
  assert.is(accepted.code, 0, accepted.stdout + accepted.stderr);
  assert.match(readFileSync(knownHosts, 'utf8'), new RegExp(`^${addressOf('web-01').replaceAll('.', '\\.')} ssh-ed25519 AAAA`, 'm'));
});

test('a changed host key is refused, showing the pinned and the offered fingerprints', () => {
  // A well-formed ed25519 key that is not the server's.
  const wrong = `${addressOf('web-01')} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n`;
  const { file } = inventoryWithKnownHosts(wrong);
  const r = tandem(['plan', '--recipe', 'base', '--limit', 'web-01', '-i', file, '--accept-new-host-keys']);
  assert.is(r.code, 3);
  const out = r.stdout + r.stderr;
  assert.match(out, /host key has CHANGED/);
  assert.match(out, /Pinned: ssh-ed25519 SHA256:\S+/);
  assert.match(out, /offered: ssh-ed25519 SHA256:\S+/);
});

/** The key the lab recorded for web-01 ("ssh-ed25519 AAAA..."). */
function labKeyOfWeb01(): string {
  const recorded = readFileSync(LAB.ssh.knownHosts, 'utf8');
  const line = recorded.split('\n').find((l) => l.startsWith(`${addressOf('web-01')} `));
  assert.ok(line, 'the lab recorded the key of web-01');
  return line!.split(/\s+/).slice(1, 3).join(' ');
}

test('a key pinned on a hashed line (HashKnownHosts) is recognised; the same key marked @revoked is refused even with --accept-new-host-keys', () => {
  const key = labKeyOfWeb01();
  const hashed = inventoryWithKnownHosts(`${hashHostName(addressOf('web-01'))} ${key}\n`);
  const ok = tandem(['plan', '--recipe', 'base', '--limit', 'web-01', '-i', hashed.file]);
  assert.ok(ok.code === 0 || ok.code === 2, ok.stdout + ok.stderr);
  const revoked = inventoryWithKnownHosts(`@revoked * ${key}\n${hashHostName(addressOf('web-01'))} ${key}\n`);
  const r = tandem(['plan', '--recipe', 'base', '--limit', 'web-01', '-i', revoked.file, '--accept-new-host-keys', '--json']);
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /is marked @revoked in .*\.known_hosts: refused, with or without --accept-new-host-keys/);
  assert.is(JSON.parse(r.stdout).error.kind, 'host-key');
  assert.is(readFileSync(revoked.knownHosts, 'utf8').split('\n').filter(Boolean).length, 2, 'nothing was pinned');
});

test('a broken inventory fails before any connection, naming file, field and reason', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-bad-'));
  const file = path.join(dir, 'x.yml');
  writeFileSync(
    file,
    readFileSync(LAB_INVENTORY, 'utf8').replace('roles: [lb, web, app, db-replica]', 'roles: [lb, dbprimary]'),
  );
  const r = tandem(['plan', '-i', file]);
  assert.is(r.code, 4, 'exit 4: invalid input');
  assert.match(r.stderr, /x\.yml: hosts\.web-02\.roles\[1\]: unknown role "dbprimary" \(expected one of lb, web, app, db-primary, db-replica, monitor\)/);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
});

test('a non-root user works through sudo: facts and changes as root, nothing asked for', () => {
  const setup = onHost(
    'web-01',
    [
      'set -e',
      'DEBIAN_FRONTEND=noninteractive apt-get -q -y install sudo >/dev/null',
      'id deploy >/dev/null 2>&1 || useradd --create-home --shell /bin/sh deploy',
      "echo 'deploy ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/deploy",
      'install -d -m 700 -o deploy -g deploy /home/deploy/.ssh',
      'install -m 600 -o deploy -g deploy /root/.ssh/authorized_keys /home/deploy/.ssh/authorized_keys',
      'rm -f /etc/tandem/host',
    ].join('\n'),
  );
  assert.is(setup.code, 0, setup.stdout + setup.stderr);
  const { file, knownHosts } = inventoryWithKnownHosts(readFileSync(LAB.ssh.knownHosts, 'utf8'));
  writeFileSync(file, readFileSync(file, 'utf8').replace('user: root', 'user: deploy'));
  assert.ok(readFileSync(knownHosts, 'utf8').length > 0);
  const r = tandemJson(['apply', '--recipe', 'base', '--limit', 'web-01', '-i', file]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.summary.changed, 1, 'only the removed file comes back');
  assert.is(onHostOk('web-01', "stat -c '%U %a' /etc/tandem/host").trim(), 'root 644');
});

test.run();
