// The host's platform: its release (/etc/os-release) and the installed versions of the packages
// whose behaviour tandem adapts to. One fact, read in the same batch as every other.
import type { Fact } from '../engine/types.ts';
import { shellJoin } from '../ssh/shell.ts';

export interface OsRelease {
  /** ID: debian, ubuntu, ... */
  id: string;
  /** VERSION_ID: 12, 13, 24.04 (empty on testing/unstable). */
  versionId: string;
  /** VERSION_CODENAME: bookworm, trixie, ... */
  codename: string;
  /** PRETTY_NAME, for messages. */
  prettyName: string;
}

export interface Platform {
  /** Undefined when the host has no readable os-release. */
  os?: OsRelease;
  /** Installed package -> its Debian version, for the packages of PLATFORM_PACKAGES that are installed. */
  packages: Record<string, string>;
}

/** The packages whose installed version a recipe may look at. */
export const PLATFORM_PACKAGES = ['mariadb-server', 'mysql-server', 'haproxy', 'nginx', 'keepalived', 'nodejs'] as const;

/** Pure: os-release(5) lines (KEY=value, the value optionally quoted) to the fields tandem uses. */
export function parseOsRelease(text: string): OsRelease | undefined {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let value = m[2]!;
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) value = value.slice(1, -1);
    fields[m[1]!] = value.replace(/\\(["'$`\\])/g, '$1');
  }
  if (!fields.ID) return undefined;
  return {
    id: fields.ID,
    versionId: fields.VERSION_ID ?? '',
    codename: fields.VERSION_CODENAME ?? '',
    prettyName: fields.PRETTY_NAME ?? `${fields.ID} ${fields.VERSION_ID ?? ''}`.trim(),
  };
}

const PACKAGES = '-- packages';

export function parsePlatform(stdout: string): Platform {
  const at = stdout.indexOf(`${PACKAGES}\n`);
  const osText = at < 0 ? stdout : stdout.slice(0, at);
  const pkgText = at < 0 ? '' : stdout.slice(at + PACKAGES.length + 1);
  const packages: Record<string, string> = {};
  for (const line of pkgText.split('\n')) {
    // "<name> <version> <status abbrev>": "ii" is installed; "rc" (removed, config kept) is not.
    const [name, version, status] = line.trim().split(' ');
    if (name && version && status === 'ii') packages[name] = version;
  }
  const os = parseOsRelease(osText);
  return { ...(os ? { os } : {}), packages };
}

export const platformFact: Fact<Platform> = {
  id: 'platform',
  script: [
    'cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release',
    `echo '${PACKAGES}'`,
    `dpkg-query -W -f='\${Package} \${Version} \${db:Status-Abbrev}\\n' ${shellJoin([...PLATFORM_PACKAGES])} 2>/dev/null`,
    'true',
  ].join('\n'),
  parse: (stdout) => parsePlatform(stdout),
};

/** Pure: "11.8" from a Debian version such as "1:11.8.3-0+deb13u1" (epoch and revision dropped). */
export function upstreamSeries(debianVersion: string): string | undefined {
  const m = /^(?:\d+:)?(\d+)\.(\d+)/.exec(debianVersion);
  return m ? `${m[1]}.${m[2]}` : undefined;
}

/** A release tandem knows, and what of it tandem's decisions depend on. */
export interface KnownRelease {
  id: string;
  versionId: string;
  codename: string;
  /** How tandem names it: "Debian 13 (trixie)". */
  name: string;
  /** The MariaDB series its archive installs (default-mysql-server). */
  mariadb: string;
}

/** The releases tandem runs on, newest first (docs/platforms.md says how each is tested). */
export const KNOWN_RELEASES: readonly KnownRelease[] = [
  { id: 'debian', versionId: '13', codename: 'trixie', name: 'Debian 13 (trixie)', mariadb: '11.8' },
  { id: 'debian', versionId: '12', codename: 'bookworm', name: 'Debian 12 (bookworm)', mariadb: '10.11' },
];

export function knownRelease(os: OsRelease | undefined): KnownRelease | undefined {
  return os && KNOWN_RELEASES.find((r) => r.id === os.id && r.versionId === os.versionId);
}

/** The MariaDB series the host runs, or the one its release installs when none is installed yet. */
export function mariadbSeries(p: Platform): string | undefined {
  const installed = p.packages['mariadb-server'];
  return (installed && upstreamSeries(installed)) ?? knownRelease(p.os)?.mariadb;
}

/** Pure: compares two "major.minor" series numerically (10.11 < 11.8). */
export function compareSeries(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}
