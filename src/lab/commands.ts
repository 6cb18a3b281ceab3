// Every system command the lab runs, built as argv data by pure functions (unit-tested).
import type { Cidr } from './addr.ts';
import type { Cmd } from './exec.ts';

export const ip = {
  /** A bridge with a fixed MAC, no STP delay, and no iptables hooks (br_netfilter may be loaded). */
  addBridge: (name: string, mac: string): Cmd => ({
    argv: ['ip', 'link', 'add', name, 'address', mac, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0',
      'nf_call_iptables', '0', 'nf_call_ip6tables', '0', 'nf_call_arptables', '0'],
  }),
  addAddress: (dev: string, cidr: Cidr, netns?: string): Cmd => ({
    argv: ['ip', ...nsArgs(netns), 'addr', 'replace', `${cidr.address}/${cidr.prefix}`, 'dev', dev],
  }),
  up: (dev: string, netns?: string): Cmd => ({ argv: ['ip', ...nsArgs(netns), 'link', 'set', dev, 'up'] }),
  deleteLink: (dev: string): Cmd => ({ argv: ['ip', 'link', 'del', dev] }),
  showLinks: (): Cmd => ({ argv: ['ip', '-j', 'link', 'show'] }),
  showAddresses: (): Cmd => ({ argv: ['ip', '-j', 'addr', 'show'] }),
  addNetns: (name: string): Cmd => ({ argv: ['ip', 'netns', 'add', name] }),
  deleteNetns: (name: string): Cmd => ({ argv: ['ip', 'netns', 'del', name] }),
  listNetns: (): Cmd => ({ argv: ['ip', '-j', 'netns', 'list'] }),
  /** A veth pair whose peer is born inside the host's netns as eth0, both ends with fixed MACs. */
  addVeth: (hostIf: string, hostMac: string, netns: string, guestMac: string): Cmd => ({
    argv: ['ip', 'link', 'add', hostIf, 'address', hostMac, 'type', 'veth',
      'peer', 'name', 'eth0', 'address', guestMac, 'netns', netns],
  }),
  attach: (dev: string, bridge: string): Cmd => ({ argv: ['ip', 'link', 'set', dev, 'master', bridge, 'up'] }),
  flushNeighbour: (address: string, dev?: string, netns?: string): Cmd => ({
    argv: ['ip', ...nsArgs(netns), 'neigh', 'flush', 'to', address, ...(dev ? ['dev', dev] : [])],
  }),
};

function nsArgs(netns: string | undefined): string[] {
  return netns ? ['-n', netns] : [];
}

/** Sets sysctls inside a netns (net.* is per namespace). */
export function netnsSysctl(netns: string, settings: Record<string, string>): Cmd {
  return {
    argv: ['ip', 'netns', 'exec', netns, 'sysctl', '-q', '-w',
      ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)],
  };
}

export function mountOverlay(lower: string, upper: string, work: string, target: string): Cmd {
  return {
    argv: ['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, target],
  };
}

export function unmount(target: string): Cmd {
  return { argv: ['umount', target] };
}

export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';

export function debootstrap(target: string, suite: string, include: readonly string[]): Cmd {
  return {
    argv: ['debootstrap', '--variant=minbase', `--include=${include.join(',')}`, suite, target, DEBIAN_MIRROR],
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  };
}

const TAR_KEEP = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls'];

export function packTarball(sourceDir: string, outFile: string): Cmd {
  return { argv: ['tar', ...TAR_KEEP, '-I', 'zstd -T0 -3', '-C', sourceDir, '-cf', outFile, '.'] };
}

export function unpackTarball(file: string, destDir: string): Cmd {
  return { argv: ['tar', ...TAR_KEEP, '-I', 'zstd -T0', '-C', destDir, '-xpf', file] };
}

export function sshKeygen(keyFile: string, comment: string): Cmd {
  return { argv: ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', keyFile] };
}

const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive' };

export const apt = {
  /** Prints "<package> <status abbrev>" lines; missing packages go to stderr. */
  query: (packages: readonly string[]): Cmd => ({
    argv: ['dpkg-query', '-W', '-f=${Package} ${db:Status-Abbrev}\\n', ...packages],
  }),
  update: (): Cmd => ({ argv: ['apt-get', 'update'], env: APT_ENV }),
  install: (packages: readonly string[]): Cmd => ({
    argv: ['apt-get', 'install', '-y', '--no-install-recommends', ...packages],
    env: APT_ENV,
  }),
};

export interface NspawnOptions {
  machine: string;
  hostname: string;
  root: string;
  netns: string;
}

/**
 * systemd-nspawn booting the host's systemd. `--register=no --keep-unit` because PID 1 here
 * need not be systemd; CAP_NET_ADMIN and writable /proc/sys/net come back (nspawn drops them
 * with --network-namespace-path); no image lock files are left behind by a hard stop.
 */
export function nspawn(o: NspawnOptions): Cmd {
  return {
    argv: ['systemd-nspawn', '--quiet', '--boot', `--directory=${o.root}`, `--machine=${o.machine}`,
      `--hostname=${o.hostname}`, '--register=no', '--keep-unit',
      `--network-namespace-path=/run/netns/${o.netns}`, '--capability=CAP_NET_ADMIN,CAP_IPC_LOCK',
      '--link-journal=no', '--console=read-only', '--resolv-conf=off', '--timezone=off'],
    env: { SYSTEMD_NSPAWN_API_VFS_WRITABLE: 'network', SYSTEMD_NSPAWN_LOCK: '0' },
  };
}

export function aptCacherNg(configDir: string): Cmd {
  return { argv: ['apt-cacher-ng', '-c', configDir, 'ForeGround=1'] };
}

export interface SshTarget {
  keyPath: string;
  knownHostsPath: string;
  user: string;
  address: string;
}

/** The system ssh client pinned to the lab's key and known_hosts: never a prompt. */
export function sshArgv(t: SshTarget, command: readonly string[] = [], opts: { tty?: boolean } = {}): string[] {
  return ['ssh', '-i', t.keyPath, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${t.knownHostsPath}`,
    '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'PasswordAuthentication=no',
    '-o', 'KbdInteractiveAuthentication=no', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR',
    ...(opts.tty ? ['-t'] : []), `${t.user}@${t.address}`, ...(command.length ? ['--', ...command] : [])];
}
