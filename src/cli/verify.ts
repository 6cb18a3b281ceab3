// `tandem verify`: every check printed with pass/fail and its figure; exit 1 when any fails.
import type { Command } from 'commander';
import { verify } from '../verify/run.ts';
import type { CheckResult } from '../verify/types.ts';
import { addCommonOptions, type CommonOptions } from './options.ts';
import { openSession } from './session.ts';
import { action } from './exit.ts';
import { colorizer } from './render/format.ts';

export function checkLine(r: CheckResult, c: ReturnType<typeof colorizer>): string {
  const mark = r.ok ? c.green('✔ pass') : c.red('✖ FAIL');
  return `${mark} ${r.host ? `[${r.host}] ` : ''}${r.check}: ${r.figure}${r.detail ? `\n       ${r.detail}` : ''}`;
}

export async function runVerify(opts: CommonOptions & { maxLag?: string }): Promise<{ results: CheckResult[]; code: number }> {
  const session = await openSession(opts, { createSecrets: false });
  const out = opts.json ? process.stderr : process.stdout;
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
      maxLagSeconds: opts.maxLag ? Number(opts.maxLag) : undefined,
      checkTimeoutSeconds: session.deadlines.default,
    });
    const failed = results.filter((r) => !r.ok).length;
    const durationMs = Math.round(performance.now() - started);
    if (opts.json) {
      process.stdout.write(JSON.stringify({ summary: { passed: results.length - failed, failed }, checks: results, durationMs }, null, 2) + '\n');
    } else {
      out.write(`${failed ? c.red('FAILED') : c.green('verified')}: ${results.length - failed} passed, ${failed} failed in ${(durationMs / 1000).toFixed(1)}s\n`);
    }
    return { results, code: failed ? 1 : 0 };
  } finally {
    await session.close();
  }
}

export function registerVerify(program: Command): void {
  addCommonOptions(
    program
      .command('verify')
      .description('prove the stack works end to end: load balancers, backends, app health, replication with a canary row')
      .option('--max-lag <seconds>', 'replica lag above this fails', '10'),
  ).action(action(async (opts: CommonOptions & { maxLag?: string }) => (await runVerify(opts)).code));
}
