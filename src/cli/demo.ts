// `tandem demo` (npm run demo): the main job on the local lab: lab up, apply, verify, and how to
// open the site.
import { labConfig, labUp, type LabEvent } from '../lab/index.ts';
import { hasRole } from '../stack/roles.ts';
import { loadInventory } from '../inventory/load.ts';
import { converge } from './converge.ts';
import { runVerify } from './verify.ts';
import type { Outcome } from './exit.ts';
import { textStream, type CliContext } from './context.ts';

function labPrinter(out: NodeJS.WriteStream): (e: LabEvent) => void {
  return (e) => {
    if (e.type === 'done') out.write(`  ✔ ${e.host ? `[${e.host}] ` : ''}${e.message} (${(e.ms / 1000).toFixed(1)}s)\n`);
    else if (e.type === 'warn') out.write(`  ! ${e.message}\n`);
    else if (e.type === 'step') out.write(`  … ${e.host ? `[${e.host}] ` : ''}${e.message}\n`);
  };
}

function httpHint(domain: string, front: string, others: string[]): string {
  return (
    `\nThe stack is up. Open http://${front}/ or, for the domain, add this line to /etc/hosts:\n` +
    `  ${front} ${domain}\nand open http://${domain}/\n` +
    (others.length ? `Other load balancers: ${others.map((a) => `http://${a}/`).join(' ')}\n` : '')
  );
}

/** With tls: the site is HTTPS for the domain, its certificate from the lab's CA (Pebble's root, new at each `lab up`). */
export function httpsHint(domain: string, front: string, others: string[], caFile: string | undefined): string {
  const trust = caFile
    ? `Its certificate comes from the lab's own CA. Trust it:\n` +
      `  curl: curl --cacert ${caFile} https://${domain}/   (or --resolve ${domain}:443:${front} without /etc/hosts)\n` +
      `  a browser: import ${caFile} as a certificate authority (Firefox: Settings > Privacy & Security > Certificates >\n` +
      `    View Certificates > Authorities > Import; Chrome: Settings > Privacy and security > Security > Manage certificates),\n` +
      `    and remove it after \`lab down\`: Pebble makes a new CA at each start.\n`
    : '';
  return (
    `\nThe stack is up over HTTPS. Add this line to /etc/hosts:\n  ${front} ${domain}\nand open https://${domain}/\n` +
    trust +
    (others.length ? `Other load balancers: ${others.join(' ')} (the same site: curl --resolve ${domain}:443:<address>)\n` : '')
  );
}

export interface DemoOptions {
  inventory: string;
  json?: boolean;
}

export async function demo(opts: DemoOptions, ctx: CliContext): Promise<Outcome> {
  const out = textStream(ctx);
  out.write('1/3 tandem lab up\n');
  const lab = await labUp(await labConfig(opts.inventory), { progress: labPrinter(out) });
  out.write('2/3 tandem apply\n');
  const applied = await converge('apply', { inventory: opts.inventory, json: opts.json }, ctx);
  if (applied.code !== 0) return { ...applied, report: { lab, apply: applied.report } };
  out.write('3/3 tandem verify\n');
  const verified = await runVerify({ inventory: opts.inventory, json: opts.json }, ctx);
  const inv = await loadInventory(opts.inventory);
  const lbs = inv.hosts.filter((h) => hasRole(h, 'lb'));
  // active-passive: the shared address is the one to use; otherwise any load balancer.
  const front = inv.lb.failover?.vip ?? lbs[0]!.address;
  const others = inv.lb.failover ? [] : lbs.slice(1).map((h) => h.address);
  out.write(inv.tls ? httpsHint(inv.domain, front, others, inv.tls.caFile) : httpHint(inv.domain, front, others));
  out.write(`Tear the lab down with: npx tandem lab down\n`);
  const url = inv.tls ? `https://${inv.domain}/` : `http://${front}/`;
  return { ...verified, report: { lab, apply: applied.report, verify: verified.report, url } };
}
