// What the cached Debian 12 base image is: the debootstrap package set and the edits made to
// it (pure data; its hash names the cached tarball, so changing the recipe rebuilds the image).
import { createHash } from 'node:crypto';

export const SUITE = 'bookworm';

export const BASE_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'iproute2',
  'ca-certificates',
  'procps',
] as const;

export type FileEdit =
  | { kind: 'write'; path: string; content: string; mode?: number; dirMode?: number }
  | { kind: 'remove'; path: string }
  | { kind: 'symlink'; path: string; target: string }
  /** Removes the entries of a folder whose names match, keeping the folder. */
  | { kind: 'prune'; dir: string; keep: readonly string[] };

/** Units that would run apt, fstrim or scrubs in the background and race the tests. */
export const MASKED_UNITS = [
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.timer',
  'e2scrub_all.timer',
  'e2scrub_reap.service',
  'fstrim.timer',
] as const;

export const APT_SOURCES = [
  'deb http://deb.debian.org/debian bookworm main',
  'deb http://deb.debian.org/debian bookworm-updates main',
  'deb http://deb.debian.org/debian-security bookworm-security main',
  '',
].join('\n');

export const BASE_EDITS: readonly FileEdit[] = [
  // Host keys and machine-id must differ per host: each host gets its own in its overlay.
  ...['rsa', 'ecdsa', 'ed25519'].flatMap((t): FileEdit[] => [
    { kind: 'remove', path: `etc/ssh/ssh_host_${t}_key` },
    { kind: 'remove', path: `etc/ssh/ssh_host_${t}_key.pub` },
  ]),
  { kind: 'write', path: 'etc/machine-id', content: '', mode: 0o444 },
  { kind: 'remove', path: 'var/lib/dbus/machine-id' },
  // debootstrap copies the build machine's hostname and resolver; the lab has no DNS.
  { kind: 'remove', path: 'etc/hostname' },
  { kind: 'write', path: 'etc/resolv.conf', content: '# tandem lab: no DNS here; lab hosts are listed in /etc/hosts\n' },
  { kind: 'write', path: 'etc/apt/sources.list', content: APT_SOURCES },
  { kind: 'prune', dir: 'var/lib/apt/lists', keep: ['partial', 'lock'] },
  { kind: 'prune', dir: 'var/cache/apt/archives', keep: ['partial', 'lock'] },
  {
    kind: 'write',
    path: 'etc/ssh/sshd_config.d/tandem-lab.conf',
    content: 'HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\nUseDNS no\n',
  },
  {
    kind: 'write',
    path: 'etc/systemd/journald.conf.d/tandem-lab.conf',
    content: '[Journal]\nStorage=volatile\nRuntimeMaxUse=32M\n',
  },
  ...MASKED_UNITS.map((unit): FileEdit => ({ kind: 'symlink', path: `etc/systemd/system/${unit}`, target: '/dev/null' })),
];

/** Stable id of the recipe: first 12 hex digits of a sha256 over everything above. */
export function imageId(): string {
  const recipe = JSON.stringify({ v: 1, suite: SUITE, packages: BASE_PACKAGES, edits: BASE_EDITS });
  return createHash('sha256').update(recipe).digest('hex').slice(0, 12);
}
