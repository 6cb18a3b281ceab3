// Command builders for rolling deploys: pure functions returning argv or scripts, no I/O.
import { shellQuote } from '../ssh/quote.ts';
import { HAPROXY_SOCKET } from '../../recipes/haproxy.ts';
import { APP_ROOT, APP_SERVICE } from '../../recipes/app.ts';
import { NGINX_PORT } from '../../recipes/nginx.ts';
import { COMPLETE_MARK } from '../ops/release.ts';

export type ServerState = 'ready' | 'drain' | 'maint';

/** One HAProxy runtime API command through its local admin socket. */
export function haproxyRuntime(command: string): string {
  return `echo ${shellQuote(command)} | socat stdio ${shellQuote(`UNIX-CONNECT:${HAPROXY_SOCKET}`)}`;
}

export function setServerState(backend: string, server: string, state: ServerState): string {
  return haproxyRuntime(`set server ${backend}/${server} state ${state}`);
}

export const SHOW_STAT = haproxyRuntime('show stat');

export const releasesDir = `${APP_ROOT}/releases`;
export const currentLink = `${APP_ROOT}/current`;

/** Lists complete releases, newest first, then where `current` points. */
export const LIST_RELEASES = [
  `cd ${releasesDir} 2>/dev/null || exit 0`,
  `for d in $(ls -1t); do [ -e "$d/${COMPLETE_MARK}" ] && echo "release $d"; done`,
  `echo "current $(readlink ${currentLink} 2>/dev/null)"`,
].join('\n');

export interface ReleaseList {
  /** Newest first (by the time they were unpacked). */
  releases: string[];
  current?: string;
}

export function parseReleaseList(stdout: string): ReleaseList {
  const out: ReleaseList = { releases: [] };
  for (const line of stdout.split('\n')) {
    const [tag, value] = line.split(' ');
    if (tag === 'release' && value) out.releases.push(value);
    if (tag === 'current' && value) out.current = value.split('/').pop();
  }
  return out;
}

/** Switch `current` in one rename, so it never points nowhere. */
export function switchCurrent(id: string): string {
  const target = `${releasesDir}/${id}`;
  return `set -e\n[ -e ${shellQuote(`${target}/${COMPLETE_MARK}`)} ] || { echo "release ${id} is not on this server" >&2; exit 1; }\nln -sfn ${shellQuote(target)} ${shellQuote(`${currentLink}.tandem-new`)}\nmv -Tf ${shellQuote(`${currentLink}.tandem-new`)} ${shellQuote(currentLink)}`;
}

export const RESTART_APP = ['systemctl', 'restart', APP_SERVICE];

/** /healthz through the host's Nginx: body, then the status code on the last line. */
export const HEALTH_THROUGH_NGINX = ['curl', '-sS', '--max-time', '2', '-w', '\n%{http_code}', `http://127.0.0.1:${NGINX_PORT}/healthz`];

/** Releases to delete: all but the newest `keep`, never `current` nor the one before it. */
export function releasesToPrune(list: ReleaseList, keep: number): string[] {
  const protectedIds = new Set<string>();
  if (list.current) {
    protectedIds.add(list.current);
    const i = list.releases.indexOf(list.current);
    if (i >= 0 && list.releases[i + 1]) protectedIds.add(list.releases[i + 1]!);
  }
  return list.releases.slice(keep).filter((id) => !protectedIds.has(id));
}

export function pruneReleases(ids: string[]): string[] {
  return ['rm', '-rf', '--', ...ids.map((id) => `${releasesDir}/${id}`)];
}
