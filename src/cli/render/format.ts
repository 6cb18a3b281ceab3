// Text forms of engine results, shared by the renderers.
import type { OpResult, RunReport } from '../../engine/events.ts';
import { HOST_STAGES, RUN_STAGES, type TimingsReport } from '../../engine/timings.ts';

const tty = (stream: NodeJS.WriteStream) => Boolean(stream.isTTY) && !process.env.NO_COLOR;

export function colorizer(stream: NodeJS.WriteStream) {
  const on = tty(stream);
  const wrap = (code: number) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { red: wrap(31), green: wrap(32), yellow: wrap(33), cyan: wrap(36), dim: wrap(2), bold: wrap(1) };
}
export type Colors = ReturnType<typeof colorizer>;

export function colorDiff(diff: string, c: Colors): string {
  return diff
    .split('\n')
    .map((l) => (l.startsWith('+') && !l.startsWith('+++') ? c.green(l) : l.startsWith('-') && !l.startsWith('---') ? c.red(l) : l.startsWith('@@') ? c.cyan(l) : l))
    .join('\n');
}

export function opLine(r: OpResult, mode: 'plan' | 'apply', c: Colors): string {
  const mark =
    r.status === 'changed' ? c.yellow(mode === 'plan' ? '~' : '✔ changed') : r.status === 'failed' ? c.red('✖ failed') : r.status === 'pending' ? c.yellow('?') : c.dim('ok');
  const detail = r.status === 'failed' ? r.error : r.summary;
  return `${mark} ${r.op}${detail ? `: ${detail}` : ''}`;
}

/** The plan, per host: every change with its diff (and its commands with --verbose). */
export function planText(report: RunReport, verbose: boolean, c: Colors): string {
  const out: string[] = [];
  for (const [host, h] of Object.entries(report.hosts)) {
    const changes = h.ops.filter((o) => o.status !== 'ok');
    out.push(c.bold(`${host}: ${h.changed} to change, ${h.ok} ok${h.failed ? `, ${h.failed} failed` : ''}`));
    for (const o of changes) {
      out.push(`  ${opLine(o, 'plan', c)}`);
      if (o.diff) out.push(indent(colorDiff(o.diff.trimEnd(), c), 4));
      if (verbose) for (const cmd of o.commands ?? []) out.push(c.dim(`    $ ${cmd}`));
    }
  }
  return out.join('\n');
}

export function summaryText(report: RunReport, c: Colors): string {
  const s = report.summary;
  const verb = report.mode === 'plan' ? 'to change' : 'changed';
  const lines = Object.entries(report.hosts).map(
    ([host, h]) =>
      `${host}: ${h.ok} ok, ${h.changed} ${verb}, ${h.failed} failed` +
      c.dim(` (${report.roundTrips[host] ?? 0} remote commands)`) +
      (h.error ? `\n  ${c.red('✖')} ${h.error}` : '') +
      (h.skipped ?? []).map((k) => `\n  ${c.yellow('-')} ${k.phase} skipped: ${k.reason}`).join('') +
      h.warnings.map((w) => `\n  ${c.yellow('!')} ${w}`).join(''),
  );
  lines.push(
    `${s.failed ? c.red('FAILED') : c.green('done')}: ${s.ok} ok, ${s.changed} ${verb}, ${s.failed} failed in ${(report.durationMs / 1000).toFixed(1)}s`,
  );
  return lines.join('\n');
}

export function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

/** --verbose: where the time went, one line for the run and one per host (the `timings` of --json). */
export function timingsText(t: TimingsReport, c: Colors): string {
  const run = RUN_STAGES.filter((s) => t[`${s}Ms`] !== undefined).map((s) => `${s} ${t[`${s}Ms`]} ms`);
  const lines = [`time: ${[...run, `total ${t.totalMs} ms`].join(', ')}`];
  for (const [host, h] of Object.entries(t.hosts)) lines.push(`  ${host}: ${HOST_STAGES.map((s) => `${s} ${h[`${s}Ms`]} ms`).join(', ')}`);
  return c.dim(lines.join('\n'));
}
