// `tandem verify`: every check printed with pass/fail and its figure; exit 1 when any fails.
import { verify } from '../verify/run.ts';
import { serverTlsOf } from '../tls/supply.ts';
import type { CheckResult } from '../verify/types.ts';
import type { CommonOptions } from './options.ts';
import { openSession } from './session.ts';
import { outcomeOf, type Outcome } from './exit.ts';
import { textStream, type CliContext } from './context.ts';
import { colorizer } from './render/format.ts';
import { VerificationError } from '../errors.ts';
import { portTable } from '../verify/firewall.ts';

export interface VerifyOptions extends CommonOptions {
  maxLag?: number;
}

export function checkLine(r: CheckResult, c: ReturnType<typeof colorizer>): string {
  const mark = r.ok ? c.green('✔ pass') : c.red('✖ FAIL');
  const table = r.rows && r.ok ? `\n${portTable(r.rows)}` : '';
  return `${mark} ${r.host ? `[${r.host}] ` : ''}${r.check}: ${r.figure}${r.detail ? `\n       ${r.detail}` : ''}${table.replace(/\n/g, '\n       ')}`;
}

export async function runVerify(opts: VerifyOptions, ctx: CliContext): Promise<Outcome & { results: CheckResult[] }> {
  const session = await openSession(opts, { createSecrets: false }, ctx);
  const out = textStream(ctx, Boolean(opts.json));
  const c = colorizer(out);
  const started = performance.now();
  try {
    const results = await verify({
      inventory: session.inventory,
      hosts: session.hosts,
      secrets: session.secrets,
      redactor: session.redactor,
      connect: (h) => session.connect(h),
      emit: (r) => {
        if (!opts.json) out.write(checkLine(r, c) + '\n');
      },
      maxLagSeconds: opts.maxLag,
      checkTimeoutSeconds: session.deadlines.default,
      serverCaPem: (await serverTlsOf(session.inventory, { create: false, now: new Date() }))?.ca.certPem,
    });
    const failed = results.filter((r) => !r.ok).length;
    const durationMs = Math.round(performance.now() - started);
    if (!opts.json) {
      out.write(`${failed ? c.red('FAILED') : c.green('verified')}: ${results.length - failed} passed, ${failed} failed in ${(durationMs / 1000).toFixed(1)}s\n`);
    }
    const report = { summary: { passed: results.length - failed, failed }, checks: results, durationMs };
    const firstFailed = results.find((r) => !r.ok);
    const failures: unknown[] = [...session.connectFailures.values()];
    if (firstFailed) {
      const what = `${firstFailed.host ? `[${firstFailed.host}] ` : ''}${firstFailed.check}: ${firstFailed.detail ?? firstFailed.figure}`;
      failures.push(new VerificationError(`${failed} check${failed > 1 ? 's' : ''} failed, the first: ${what}`, { host: firstFailed.host }));
    }
    return { ...outcomeOf(report, failures), results };
  } finally {
    await session.close();
  }
}
