// HAProxy's own view of its backend servers, read on a lab load balancer through the admin socket
// (the same `show stat` the deploy uses), for tests that must see what HAProxy saw.
import { SHOW_STAT } from '../../src/deploy/commands.ts';
import { parseStatCsv } from '../../src/verify/haproxy.ts';
import { HAPROXY_BACKEND } from '../../src/stack/names.ts';
import { sshOk } from './harness.ts';

/** Each server of the web backend and its status in `lb`'s HAProxy: { 'web-01': 'UP', 'web-02': 'DRAIN' }. */
export async function backendStatus(lb: string): Promise<Record<string, string>> {
  const rows = parseStatCsv(await sshOk(lb, SHOW_STAT)).filter((s) => s.backend === HAPROXY_BACKEND);
  return Object.fromEntries(rows.map((s) => [s.server, s.status]));
}

/** Out of rotation on purpose: drained or in maintenance (HAProxy adds "(via ...)" and the like). */
export const outOfRotation = (status: string): boolean => /^(DRAIN|MAINT|NOLB)/.test(status);
