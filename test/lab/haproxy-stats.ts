// HAProxy's own view of its backend servers, read on a lab load balancer through the admin socket
// (the same `show stat` the deploy uses), for tests that must see what HAProxy saw.
import { SHOW_STAT } from '../../src/deploy/commands.ts';
import { parseStatCsv } from '../../src/verify/haproxy.ts';
import { HAPROXY_BACKEND } from '../../src/stack/names.ts';
import { spawn } from 'node:child_process';
import { sshArgsFor, sshOk, until } from './harness.ts';

/** Each server of the web backend and its status in `lb`'s HAProxy: { 'web-01': 'UP', 'web-02': 'DRAIN' }. */
export async function backendStatus(lb: string): Promise<Record<string, string>> {
  const rows = parseStatCsv(await sshOk(lb, SHOW_STAT)).filter((s) => s.backend === HAPROXY_BACKEND);
  return Object.fromEntries(rows.map((s) => [s.server, s.status]));
}

/** Waits until `server`'s status matches in every one of `lbs`' HAProxy (a minute at most each). */
export async function untilBackend(server: string, status: RegExp, lbs: readonly string[]): Promise<void> {
  for (const lb of lbs) {
    let seen: Record<string, string> = {};
    await until(`${server} ${status} in ${lb}'s HAProxy`, async () => {
      seen = await backendStatus(lb);
      return status.test(seen[server] ?? '') || undefined;
    }, { timeoutMs: 60_000, seen: () => JSON.stringify(seen) });
  }
}

/** Out of rotation on purpose: drained or in maintenance (HAProxy adds "(via ...)" and the like). */
export const outOfRotation = (status: string): boolean => /^(DRAIN|MAINT|NOLB)/.test(status);

const SAMPLE_END = '#end-of-sample';

/**
 * Samples `lb`'s HAProxy about every 50 ms over ONE ssh session (a loop on the server), so that
 * watching does not cost a process and a handshake per sample on the control machine, which would
 * slow the load that a test runs beside it. Calls onSample with each sample until stopped.
 */
export async function streamBackendStatus(lb: string, onSample: (status: Record<string, string>) => void): Promise<{ stop(): Promise<void> }> {
  const loop = `while :; do ${SHOW_STAT}; echo '${SAMPLE_END}'; sleep 0.05; done`;
  const [cmd, ...args] = await sshArgsFor(lb, [loop]);
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let buffered = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffered += d;
    for (let end = buffered.indexOf(`${SAMPLE_END}\n`); end >= 0; end = buffered.indexOf(`${SAMPLE_END}\n`)) {
      const csv = buffered.slice(0, end);
      buffered = buffered.slice(end + SAMPLE_END.length + 1);
      const rows = parseStatCsv(csv).filter((r) => r.backend === HAPROXY_BACKEND);
      onSample(Object.fromEntries(rows.map((r) => [r.server, r.status])));
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      // Killed by us is the normal end; ssh failing before that is not.
      if (code !== null && code !== 0 && code !== 143 && !child.killed) throw new Error(`${lb}: watching HAProxy failed (exit ${code}): ${stderr.trim()}`);
    },
  };
}
