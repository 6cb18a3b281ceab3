// Pure halves of the lab's system probes: preflight errors, packages, cgroups, mounts, known_hosts.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { preflightError, type MachineFacts } from '../../src/lab/preflight.ts';
import { missingPackages } from '../../src/lab/host-packages.ts';
import { currentCgroupDirs } from '../../src/lab/cgroups.ts';
import { mountPoints, mountsAtOrUnder } from '../../src/lab/mounts.ts';
import { mergeKnownHosts } from '../../src/lab/known-hosts.ts';
import { parseCmdline } from '../../src/lab/processes.ts';
import { subnetConflicts } from '../../src/lab/network.ts';
import { renderEvent, renderStatus } from '../../src/cli/lab.ts';

const ok: MachineFacts = { platform: 'linux', uid: 0, filesystems: 'nodev\toverlay\n', hasNetns: true, hasCgroupFs: true };

test('preflight: clear errors saying what to do, in order', () => {
  assert.is(preflightError(ok), undefined);
  const cases: [Partial<MachineFacts>, RegExp, RegExp][] = [
    [{ platform: 'darwin' }, /needs Linux/, /Linux machine/],
    [{ uid: 1000 }, /needs root/, /sudo/],
    [{ filesystems: 'nodev\tproc\n' }, /overlayfs/, /modprobe overlay/],
    [{ hasNetns: false }, /network namespaces/, /CONFIG_NET_NS/],
    [{ hasCgroupFs: false }, /cgroup/, /mount cgroup2/],
  ];
  for (const [facts, message, hint] of cases) {
    const err = preflightError({ ...ok, ...facts });
    assert.ok(err);
    assert.match(err!.message, message);
    assert.match(err!.hint ?? '', hint);
  }
});

test('host packages: only the ones dpkg does not show as installed', () => {
  const out = 'debootstrap ii \nzstd ii \napt-cacher-ng un \nmount:amd64 ii \n';
  assert.equal(missingPackages(['debootstrap', 'zstd', 'apt-cacher-ng', 'mount', 'iproute2'], out), ['apt-cacher-ng', 'iproute2']);
});

const MOUNTINFO = [
  '30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
  '32 30 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
  '33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
  '34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
  '40 22 0:44 / /work/.lab/hosts/web-01/root rw - overlay overlay rw,lowerdir=/b',
  '41 22 0:45 / /work/a\\040b rw - tmpfs tmpfs rw',
].join('\n');

test('cgroups: the current cgroup in every hierarchy, hybrid v1 + v2', () => {
  const proc = ['9:name=systemd:/', '4:memory:/process_api/abc', '2:cpu,cpuacct:/', '0::/'].join('\n');
  assert.equal(currentCgroupDirs(proc, MOUNTINFO), [
    '/sys/fs/cgroup/systemd',
    '/sys/fs/cgroup/memory/process_api/abc',
    '/sys/fs/cgroup/cpu,cpuacct',
    '/sys/fs/cgroup/unified',
  ]);
  assert.equal(currentCgroupDirs('0::/user.slice/session-1.scope', '31 30 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw'), [
    '/sys/fs/cgroup/user.slice/session-1.scope',
  ]);
});

test('mounts: escapes decoded, mounts under a folder deepest first', () => {
  const points = mountPoints(MOUNTINFO);
  assert.ok(points.includes('/work/a b'));
  assert.equal(mountsAtOrUnder(['/a', '/a/b', '/a/b/c', '/ab', '/x'], '/a'), ['/a/b/c', '/a/b', '/a']);
});

test('known_hosts: lines for the lab addresses replaced, others kept', () => {
  const existing = [
    '# pinned',
    '10.77.0.11 ssh-ed25519 OLD1',
    '203.0.113.5 ssh-ed25519 OTHER',
    '10.77.0.12,web-02 ssh-ed25519 OLD2',
    '[10.77.0.11]:22 ssh-rsa OLD3',
    '',
  ].join('\n');
  const next = mergeKnownHosts(existing, [
    { address: '10.77.0.11', key: 'ssh-ed25519 NEW1 root@web-01' },
    { address: '10.77.0.12', key: 'ssh-ed25519 NEW2' },
  ]);
  assert.is(next, ['# pinned', '203.0.113.5 ssh-ed25519 OTHER', '10.77.0.11 ssh-ed25519 NEW1', '10.77.0.12 ssh-ed25519 NEW2', ''].join('\n'));
  // Re-pinning the same keys, in any order, changes nothing.
  assert.is(mergeKnownHosts(next, [{ address: '10.77.0.12', key: 'ssh-ed25519 NEW2' }, { address: '10.77.0.11', key: 'ssh-ed25519 NEW1' }]), next);
  assert.is(mergeKnownHosts('10.77.0.13 ssh-ed25519 K3\n', [{ address: '10.77.0.11', key: 'ssh-ed25519 K1' }]), '10.77.0.13 ssh-ed25519 K3\n10.77.0.11 ssh-ed25519 K1\n');
});

test('processes and addresses', () => {
  assert.equal(parseCmdline('sh\0-c\0echo a\0'), ['sh', '-c', 'echo a']);
  const addrs = [
    { ifname: 'tandem0', addr_info: [{ family: 'inet', local: '10.77.0.1', prefixlen: 24 }] },
    { ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.0.2.2', prefixlen: 24 }] },
    { ifname: 'docker0', addr_info: [{ family: 'inet', local: '10.77.0.9', prefixlen: 16 }] },
  ];
  assert.equal(subnetConflicts(addrs, 'tandem0', '10.77.0.1/24'), ['docker0 (10.77.0.9/16)']);
});

test('CLI rendering: progress lines and the status table', () => {
  assert.is(renderEvent({ type: 'step', message: 'starting' }), '-> starting');
  assert.is(renderEvent({ type: 'done', message: 'stopping', host: 'web-01', ms: 1500 }), 'ok web-01: stopping (1.5s)');
  const table = renderStatus({
    up: false,
    bridge: { name: 'tandem0', gateway: '10.77.0.1/24', present: true },
    proxy: { running: true, pid: 42 },
    hosts: [
      { name: 'web-01', address: '10.77.0.11', running: true, release: 'Debian GNU/Linux 13 (trixie)', sshBanner: 'SSH-2.0-OpenSSH_10.0p2' },
      { name: 'web-02', address: '10.77.0.12', running: false },
    ],
  });
  assert.match(table, /^HOST\s+ADDRESS\s+RELEASE\s+RUNNING\s+SSH$/m);
  assert.match(table, /web-01\s+10\.77\.0\.11\s+Debian GNU\/Linux 13 \(trixie\)\s+yes\s+SSH-2\.0-OpenSSH_10\.0p2/);
  assert.match(table, /web-02\s+10\.77\.0\.12\s+-\s+no\s+no answer/);
  assert.match(table, /running \(PID 42\)/);
});

test.run();
