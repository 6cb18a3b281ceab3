// The lab's system commands are argv data: check the flags that the traps in docs/lab.md need.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { macFor, isHostIn, parseCidr, subnetOf, lastOctet } from '../../src/lab/addr.ts';
import { apt, debootstrap, ip, mountOverlay, nspawn, packTarball, sshArgv, unpackTarball } from '../../src/lab/commands.ts';
import type { LabConfig } from '../../src/lab/config.ts';
import { hostLayout } from '../../src/lab/layout.ts';
import { isHostProcess, rootOf, supervisorArgv, SUPERVISOR_MARKER } from '../../src/lab/supervisor.ts';
import { BASE_PACKAGES, baseRecipe, imageId } from '../../src/lab/base-recipe.ts';
import { guestEdits, hostsFile } from '../../src/lab/guest-files.ts';
import { proxyConfig } from '../../src/lab/proxy.ts';

const config: LabConfig = {
  inventoryPath: '/repo/inventory/lab.yml',
  hosts: [
    { name: 'web-01', address: '10.77.0.11' },
    { name: 'web-02', address: '10.77.0.12' },
  ],
  bridge: 'tandem0',
  gateway: '10.77.0.1/24',
  cacheDir: '/var/cache/tandem',
  stateDir: '/st',
  keyPath: '/st/id_ed25519',
  knownHostsPath: '/repo/inventory/lab.known_hosts',
  sshUser: 'root',
  release: 'trixie',
  hostReleases: {},
};

test('addresses: subnet membership, fixed locally administered MACs', () => {
  const gw = parseCidr('10.77.0.1/24');
  assert.is(subnetOf(gw), '10.77.0.0/24');
  assert.ok(isHostIn('10.77.0.11', gw));
  assert.not.ok(isHostIn('10.77.1.11', gw));
  assert.not.ok(isHostIn('10.77.0.0', gw));
  assert.is(macFor('10.77.0.11'), '02:00:0a:4d:00:0b');
  assert.is(macFor('10.77.0.11', 0x06), '06:00:0a:4d:00:0b');
  assert.is(lastOctet('10.77.0.254'), 254);
});

test('host layout: names fit the kernel limits and are scoped by the bridge', () => {
  const h = hostLayout(config, config.hosts[0]!);
  assert.is(h.machine, 'tandem0-web-01');
  assert.is(h.netns, 'tandem0-web-01');
  assert.is(h.veth, 'tandem0-11');
  assert.ok(h.veth.length <= 15);
  assert.is(h.root, '/st/hosts/web-01/root');
  assert.is(h.upper, '/st/hosts/web-01/upper');
});

test('network commands: bridge without STP delay or iptables hooks, veth born in the netns with fixed MACs', () => {
  assert.equal(ip.addBridge('tandem0', '02:00:0a:4d:00:01').argv, [
    'ip', 'link', 'add', 'tandem0', 'address', '02:00:0a:4d:00:01', 'type', 'bridge', 'stp_state', '0',
    'forward_delay', '0', 'nf_call_iptables', '0', 'nf_call_ip6tables', '0', 'nf_call_arptables', '0',
  ]);
  assert.equal(ip.addVeth('tandem0-11', '06:00:0a:4d:00:0b', 'tandem0-web-01', '02:00:0a:4d:00:0b').argv, [
    'ip', 'link', 'add', 'tandem0-11', 'address', '06:00:0a:4d:00:0b', 'type', 'veth',
    'peer', 'name', 'eth0', 'address', '02:00:0a:4d:00:0b', 'netns', 'tandem0-web-01',
  ]);
  assert.equal(ip.addAddress('eth0', { address: '10.77.0.11', prefix: 24 }, 'ns').argv, ['ip', '-n', 'ns', 'addr', 'replace', '10.77.0.11/24', 'dev', 'eth0']);
  assert.equal(ip.flushNeighbour('10.77.0.11', 'tandem0').argv, ['ip', 'neigh', 'flush', 'to', '10.77.0.11', 'dev', 'tandem0']);
});

test('nspawn: boots systemd unregistered in its own netns, NET_ADMIN back, /proc/sys/net writable', () => {
  const cmd = nspawn({ machine: 'tandem0-web-01', hostname: 'web-01', root: '/st/hosts/web-01/root', netns: 'tandem0-web-01' });
  for (const flag of ['--boot', '--register=no', '--keep-unit', '--network-namespace-path=/run/netns/tandem0-web-01',
    '--capability=CAP_NET_ADMIN,CAP_IPC_LOCK', '--directory=/st/hosts/web-01/root', '--machine=tandem0-web-01', '--hostname=web-01']) {
    assert.ok(cmd.argv.includes(flag), flag);
  }
  assert.is(cmd.env?.SYSTEMD_NSPAWN_API_VFS_WRITABLE, 'network');
});

test('supervisor: moves itself into every cgroup, restarts on exit 133, recognisable by PID scan', () => {
  const nsp = nspawn({ machine: 'tandem0-web-01', hostname: 'web-01', root: '/r', netns: 'n' });
  const argv = supervisorArgv(['/cg/a', '/cg/b'], nsp);
  assert.equal(argv.slice(0, 2), ['sh', '-c']);
  assert.match(argv[2]!, /cgroup\.procs/);
  assert.match(argv[2]!, /133/);
  assert.equal(argv.slice(3, 7), [SUPERVISOR_MARKER, '2', '/cg/a', '/cg/b']);
  assert.equal(argv.slice(7), nsp.argv);
  assert.ok(isHostProcess(argv, 'tandem0-web-01'));
  assert.ok(isHostProcess(nsp.argv, 'tandem0-web-01'));
  assert.not.ok(isHostProcess(argv, 'tandem0-web-0'));
  assert.not.ok(isHostProcess(['sleep', '--machine=tandem0-web-01'], 'tandem0-web-01'));
  assert.is(rootOf(argv), '/r');
});

test('files, images and packages', () => {
  assert.equal(mountOverlay('/l', '/u', '/w', '/m').argv, ['mount', '-t', 'overlay', 'overlay', '-o', 'lowerdir=/l,upperdir=/u,workdir=/w', '/m']);
  const ds = debootstrap('/t', 'bookworm', BASE_PACKAGES).argv;
  assert.ok(ds.includes('--variant=minbase'));
  assert.match(ds.find((a) => a.startsWith('--include='))!, /systemd,systemd-sysv,dbus,openssh-server/);
  assert.is(ds.at(-1), 'http://deb.debian.org/debian');
  assert.ok(packTarball('/src', '/out.tar.zst').argv.includes('--xattrs'));
  assert.ok(unpackTarball('/in.tar.zst', '/dst').argv.includes('--numeric-owner'));
  assert.equal(apt.install(['zstd']).argv, ['apt-get', 'install', '-y', '--no-install-recommends', 'zstd']);
});

test('base images: one recipe per release, each with its own id and apt sources', () => {
  assert.match(imageId('trixie'), /^[0-9a-f]{12}$/);
  assert.is.not(imageId('trixie'), imageId('bookworm'), 'each release is cached on its own');
  for (const release of ['trixie', 'bookworm'] as const) {
    const r = baseRecipe(release);
    assert.is(r.suite, release);
    assert.ok(r.edits.some((e) => e.kind === 'remove' && e.path === 'etc/ssh/ssh_host_ed25519_key'));
    assert.ok(r.edits.some((e) => e.kind === 'symlink' && e.path.endsWith('apt-daily.timer') && e.target === '/dev/null'));
    const sources = r.edits.find((e) => e.kind === 'write' && e.path === 'etc/apt/sources.list');
    assert.ok(sources?.kind === 'write');
    assert.equal(sources.content.trim().split('\n'), [
      `deb http://deb.debian.org/debian ${release} main`,
      `deb http://deb.debian.org/debian ${release}-updates main`,
      `deb http://deb.debian.org/debian-security ${release}-security main`,
    ]);
  }
});

test('guest identity: hostname, hosts, machine-id, apt proxy on the bridge, authorized key', () => {
  const edits = guestEdits({
    host: { name: 'web-01', address: '10.77.0.11' },
    allHosts: config.hosts,
    gatewayAddress: '10.77.0.1',
    authorizedKey: 'ssh-ed25519 AAAA tandem-lab',
    machineId: 'f'.repeat(32),
  });
  const byPath = new Map(edits.map((e) => [e.kind === 'prune' ? e.dir : e.path, e]));
  const content = (p: string) => {
    const e = byPath.get(p);
    return e && e.kind === 'write' ? e.content : undefined;
  };
  assert.is(content('etc/hostname'), 'web-01\n');
  assert.is(content('etc/machine-id'), `${'f'.repeat(32)}\n`);
  assert.is(content('etc/apt/apt.conf.d/01tandem-lab-proxy'), 'Acquire::http::Proxy "http://10.77.0.1:3142";\n');
  assert.is(content('root/.ssh/authorized_keys'), 'ssh-ed25519 AAAA tandem-lab\n');
  assert.match(hostsFile(config.hosts[0]!, config.hosts), /10\.77\.0\.12\tweb-02/);
});

test('apt-cacher-ng: own instance bound to the bridge address, Debian backend pinned', () => {
  const text = proxyConfig({ dir: '/st/apt-cacher-ng', cacheDir: '/var/cache/tandem/apt-cacher-ng', bindAddress: '10.77.0.1' });
  assert.match(text, /^BindAddress: 10\.77\.0\.1$/m);
  assert.match(text, /^Port: 3142$/m);
  assert.match(text, /^CacheDir: \/var\/cache\/tandem\/apt-cacher-ng$/m);
  assert.match(text, /file:backends_debian/);
  assert.match(text, /deb\.debian\.org\/debian-security/);
});

test('ssh: the system client, pinned known_hosts, strict checking, never a password prompt', () => {
  const argv = sshArgv({ keyPath: '/k', knownHostsPath: '/kh', user: 'root', address: '10.77.0.11' }, ['ls', '-la']);
  assert.is(argv[0], 'ssh');
  for (const o of ['UserKnownHostsFile=/kh', 'StrictHostKeyChecking=yes', 'IdentitiesOnly=yes', 'PasswordAuthentication=no']) {
    assert.ok(argv.includes(o), o);
  }
  assert.equal(argv.slice(-4), ['root@10.77.0.11', '--', 'ls', '-la']);
  assert.is(sshArgv({ keyPath: '/k', knownHostsPath: '/kh', user: 'root', address: '10.77.0.11' }).at(-1), 'root@10.77.0.11');
});

test.run();
