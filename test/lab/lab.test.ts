// The lab itself: real Debian 12 servers booting systemd, reachable over pinned SSH, each other
// over TCP, and back to pristine after a reset.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureLab, labHosts, labSettings, resetHosts, runArgv, sshArgsFor, sshExec, tandem } from './harness.ts';

test.before(async () => {
  await ensureLab();
  // Pristine servers: the tests before this file leave tandem's firewall, which admits SSH from
  // the control machine only, not from the other servers.
  await resetHosts();
});

test('every server boots systemd to "running"', async () => {
  for (const host of await labHosts()) {
    const r = await sshExec(host.name, 'systemctl is-system-running --wait', { timeoutMs: 90_000 });
    assert.is(r.stdout.trim(), 'running', `${host.name}: ${r.stdout}${r.stderr}`);
  }
});

test('each server is named after its inventory entry', async () => {
  for (const host of await labHosts()) {
    const r = await sshExec(host.name, 'hostname; hostname -I');
    assert.is(r.code, 0, r.stderr);
    const [name, addresses] = r.stdout.trim().split('\n');
    assert.is(name, host.name);
    assert.is(addresses!.trim(), host.address);
  }
});

test('the servers reach each other over TCP port 22, by address and by name', async () => {
  const hosts = await labHosts();
  for (const from of hosts) {
    for (const to of hosts) {
      if (to.name === from.name) continue;
      for (const target of [to.address, to.name]) {
        const r = await sshExec(from.name, `timeout 5 bash -c 'exec 3<>/dev/tcp/${target}/22; head -c 8 <&3'`);
        assert.is(r.stdout, 'SSH-2.0-', `${from.name} -> ${target}: ${r.stderr}`);
      }
    }
  }
});

test('ssh with the pinned known_hosts works without a prompt, and a wrong key is refused', async () => {
  const config = await labSettings();
  const [host] = await labHosts();
  const ok = await sshExec(host!.name, 'echo pinned');
  assert.is(ok.code, 0, ok.stderr);
  assert.is(ok.stdout.trim(), 'pinned');

  const dir = await mkdtemp(path.join(tmpdir(), 'tandem-lab-test-'));
  try {
    const other = (await readFile(`${config.keyPath}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    const wrong = path.join(dir, 'known_hosts');
    await writeFile(wrong, `${host!.address} ${other}\n`);
    const argv = (await sshArgsFor(host!.name, ['true'])).map((a) =>
      a.startsWith('UserKnownHostsFile=') ? `UserKnownHostsFile=${wrong}` : a,
    );
    const refused = await runArgv(argv);
    assert.is.not(refused.code, 0);
    assert.match(refused.stderr, /host key/i);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('reset returns a server to pristine and leaves the others alone', async () => {
  const [first, second] = await labHosts();
  assert.ok(second, 'the lab has at least two hosts');
  for (const h of [first!, second!]) {
    const made = await sshExec(h.name, 'echo dirty > /root/dirty && cat /root/dirty');
    assert.is(made.stdout.trim(), 'dirty');
  }
  const started = Date.now();
  await resetHosts([first!.name]);
  const seconds = (Date.now() - started) / 1000;
  assert.ok(seconds < 30, `reset took ${seconds}s`);
  const gone = await sshExec(first!.name, 'test -e /root/dirty && echo present || echo gone');
  assert.is(gone.stdout.trim(), 'gone', gone.stderr);
  const kept = await sshExec(second!.name, 'cat /root/dirty');
  assert.is(kept.stdout.trim(), 'dirty');
  await resetHosts();
  const all = await sshExec(second!.name, 'test -e /root/dirty && echo present || echo gone');
  assert.is(all.stdout.trim(), 'gone');
});

test('apt works in a server through the lab proxy, and nothing routes out of the lab subnet', async () => {
  const [host] = await labHosts();
  const r = await sshExec(
    host!.name,
    'apt-config dump | grep -i "Acquire::http::Proxy "; DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && ' +
      'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends netcat-openbsd >/dev/null && command -v nc && ip route show default | wc -l',
    { timeoutMs: 300_000 },
  );
  assert.is(r.code, 0, r.stderr);
  const config = await labSettings();
  assert.match(r.stdout, `http://${config.gateway.split('/')[0]}:3142`);
  assert.match(r.stdout, /\/nc\n0\n$/);
});

test('the CLI: `lab up` when up changes nothing, `lab status` sees sshd, `lab ssh` passes the exit code', async () => {
  const up = await tandem(['lab', 'up'], { timeoutMs: 120_000 });
  assert.is(up.code, 0, up.stdout + up.stderr);
  assert.match(up.stdout, /nothing changed/);
  const status = await tandem(['lab', 'status', '--json']);
  assert.is(status.code, 0, status.stderr);
  const parsed = JSON.parse(status.stdout) as { up: boolean; hosts: { sshBanner?: string }[] };
  assert.ok(parsed.up);
  for (const h of parsed.hosts) assert.match(h.sshBanner ?? '', /^SSH-2\.0-/);
  const [host] = await labHosts();
  const ssh = await tandem(['lab', 'ssh', host!.name, 'echo', 'hi;', 'exit', '3']);
  assert.is(ssh.code, 3, ssh.stderr);
  assert.is(ssh.stdout.trim(), 'hi');
});

test.run();
