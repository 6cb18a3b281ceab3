// What a cached Debian base image is, per release: the debootstrap suite, package set and the
// edits made to it (pure data; its hash names the cached tarball, so changing the recipe
// rebuilds the image, and each release's image is cached on its own).
import { createHash } from 'node:crypto';
import { KNOWN_RELEASES, type KnownRelease } from '../facts/platform.ts';
import type { LabRelease } from '../inventory/types.ts';

/** A lab release as the recipes know it (every lab release is one tandem supports). */
export function releaseInfo(release: LabRelease): KnownRelease {
  const known = KNOWN_RELEASES.find((r) => r.id === 'debian' && r.codename === release);
  if (!known) throw new Error(`internal: the lab release ${release} is not a release tandem knows`);
  return known;
}

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

export function aptSources(suite: LabRelease): string {
  return [
    `deb http://deb.debian.org/debian ${suite} main`,
    `deb http://deb.debian.org/debian ${suite}-updates main`,
    `deb http://deb.debian.org/debian-security ${suite}-security main`,
    '',
  ].join('\n');
}

export interface BaseRecipe {
  /** The debootstrap suite. */
  suite: LabRelease;
  packages: readonly string[];
  edits: readonly FileEdit[];
}

export function baseRecipe(suite: LabRelease): BaseRecipe {
  return { suite, packages: BASE_PACKAGES, edits: baseEdits(suite) };
}

function baseEdits(suite: LabRelease): FileEdit[] {
  return [
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
    { kind: 'write', path: 'etc/apt/sources.list', content: aptSources(suite) },
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
}

/** Stable id of a release's recipe: first 12 hex digits of a sha256 over all of it. */
export function imageId(suite: LabRelease): string {
  const r = baseRecipe(suite);
  const recipe = JSON.stringify({ v: 1, suite: r.suite, packages: r.packages, edits: r.edits });
  return createHash('sha256').update(recipe).digest('hex').slice(0, 12);
}
