// Command builders for rolling deploys: pure functions returning argv or scripts, no I/O.
import { sh } from '../ssh/shell.ts';
import { relinkScript } from '../ops/file.ts';
import { APP_CURRENT, APP_PREVIOUS, APP_RELEASES, APP_SERVICE, HAPROXY_SOCKET, NGINX_PORT } from '../stack/names.ts';
import { COMPLETE_MARK } from '../ops/release.ts';

export type ServerState = 'ready' | 'drain' | 'maint';

/** One HAProxy runtime API command through its local admin socket. */
export function haproxyRuntime(command: string): string {
  return sh`echo ${command} | socat stdio ${`UNIX-CONNECT:${HAPROXY_SOCKET}`}`;
}

export function setServerState(backend: string, server: string, state: ServerState): string {
  return haproxyRuntime(`set server ${backend}/${server} state ${state}`);
}

export const SHOW_STAT = haproxyRuntime('show stat');

/** Lists complete releases, newest first, then where `current` and `previous` point. */
export const LIST_RELEASES = [
  sh`cd ${APP_RELEASES} 2>/dev/null || exit 0`,
  sh`for d in $(ls -1t); do [ -e "$d"/${COMPLETE_MARK} ] && echo "release $d"; done`,
  sh`echo "current $(readlink ${APP_CURRENT} 2>/dev/null)"`,
  sh`echo "previous $(readlink ${APP_PREVIOUS} 2>/dev/null)"`,
].join('\n');

export interface ReleaseList {
  /** Newest first (by the time they were unpacked). */
  releases: string[];
  current?: string;
  previous?: string;
}

export function parseReleaseList(stdout: string): ReleaseList {
  const out: ReleaseList = { releases: [] };
  for (const line of stdout.split('\n')) {
    const [tag, value] = line.split(' ');
    if (tag === 'release' && value) out.releases.push(value);
    if (tag === 'current' && value) out.current = value.split('/').pop();
    if (tag === 'previous' && value) out.previous = value.split('/').pop();
  }
  return out;
}

/** The release live before `current`: the `previous` link, else (older servers) the next older one. */
export function previousRelease(list: ReleaseList): string | undefined {
  if (list.previous && list.previous !== list.current && list.releases.includes(list.previous)) return list.previous;
  const i = list.current ? list.releases.indexOf(list.current) : -1;
  return i >= 0 ? list.releases[i + 1] : undefined;
}

/**
 * Switch `current` to `id`, and `previous` to `previous` (null: remove it). A deploy passes the
 * release it replaces; undoing a failed switch passes back what `previous` was before.
 */
export function switchCurrent(id: string, previous: string | null): string {
  const target = `${APP_RELEASES}/${id}`;
  return [
    'set -e',
    sh`[ -e ${`${target}/${COMPLETE_MARK}`} ] || { echo ${`release ${id} is not on this server`} >&2; exit 1; }`,
    relinkScript(APP_CURRENT, target),
    previous && previous !== id ? relinkScript(APP_PREVIOUS, `${APP_RELEASES}/${previous}`) : sh`rm -f ${APP_PREVIOUS}`,
  ].join('\n');
}

export const RESTART_APP = ['systemctl', 'restart', APP_SERVICE];

/** /healthz through the host's Nginx: body, then the status code on the last line. */
export const HEALTH_THROUGH_NGINX = ['curl', '-sS', '--max-time', '2', '-w', '\n%{http_code}', `http://127.0.0.1:${NGINX_PORT}/healthz`];

/**
 * Releases to delete: all but the newest `keep`, never `current`, the release `rollback` would
 * use, nor the release uploaded just before `current`.
 */
export function releasesToPrune(list: ReleaseList, keep: number): string[] {
  const protectedIds = new Set<string>();
  if (list.current) {
    protectedIds.add(list.current);
    const older = list.releases[list.releases.indexOf(list.current) + 1];
    if (older && list.releases.includes(list.current)) protectedIds.add(older);
  }
  const previous = previousRelease(list);
  if (previous) protectedIds.add(previous);
  return list.releases.slice(keep).filter((id) => !protectedIds.has(id));
}

export function pruneReleases(ids: string[]): string[] {
  return ['rm', '-rf', '--', ...ids.map((id) => `${APP_RELEASES}/${id}`)];
}

/**
 * Remove a release that failed its deploy, unless `current` still points at it (a server whose
 * own roll back failed keeps it, so it can still serve).
 */
export function removeFailedRelease(id: string): string {
  const target = `${APP_RELEASES}/${id}`;
  return sh`[ "$(readlink ${APP_CURRENT})" = ${target} ] && { echo ${`release ${id} is still current here: kept`} >&2; exit 1; }\nrm -rf -- ${target}`;
}
