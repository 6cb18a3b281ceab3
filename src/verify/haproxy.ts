// Reading HAProxy's view of its backends through the stats CSV on localhost.
import { HAPROXY_STATS_PORT } from '../stack/names.ts';

export interface BackendServer {
  backend: string;
  server: string;
  status: string;
  /** Sessions in progress on this server right now. */
  current: number;
}

/** Parse `show stat` / `;csv` output into the server rows (not FRONTEND/BACKEND aggregates). */
export function parseStatCsv(csv: string): BackendServer[] {
  const lines = csv.split('\n').filter((l) => l.trim());
  const header = lines.shift()?.replace(/^# /, '').split(',') ?? [];
  const col = (name: string) => header.indexOf(name);
  const [px, sv, st, scur] = [col('pxname'), col('svname'), col('status'), col('scur')];
  return lines
    .map((l) => l.split(','))
    .filter((f) => f[sv] !== 'FRONTEND' && f[sv] !== 'BACKEND')
    .map((f) => ({ backend: f[px]!, server: f[sv]!, status: f[st]!, current: Number(f[scur] ?? 0) || 0 }));
}

export const STAT_COMMAND = ['curl', '-fsS', '--max-time', '3', `http://127.0.0.1:${HAPROXY_STATS_PORT}/;csv`];
