// Benchmark: a no-op `apply` of the whole stack on the converged lab, side by side with a
// baseline that reads the same facts the way a per-check tool does (one remote command per
// fact over the same SSH connection). Reports medians and the ratio. Run as root with the lab
// up and applied:  npx tsx bench/noop-apply.ts [runs]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadInventory } from '../src/inventory/load.ts';
import { loadSecrets } from '../src/secrets/store.ts';
import { connect } from '../src/ssh/node-ssh.ts';
import { uniqueFacts } from '../src/engine/facts.ts';
import { buildWork, RECIPES } from '../recipes/index.ts';
import { prepareRelease } from '../src/release/prepare.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const INVENTORY = path.join(ROOT, 'inventory/lab.yml');
const runs = Number(process.argv[2] ?? 7);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function tandemNoop(): { ms: number; roundTrips: Record<string, number>; changed: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'apply', '--json', '-i', INVENTORY], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const ms = performance.now() - t0;
  const report = JSON.parse(r.stdout) as { summary: { changed: number }; roundTrips: Record<string, number> };
  return { ms, roundTrips: report.roundTrips, changed: report.summary.changed };
}

async function perFactBaseline(): Promise<{ ms: number; commands: number }> {
  const t0 = performance.now();
  const inv = await loadInventory(INVENTORY);
  const secrets = await loadSecrets(inv.secretsFile, { create: false });
  const release = await prepareRelease(inv.app.source, { entry: inv.app.entry });
  const work = buildWork(inv, inv.hosts, secrets, RECIPES, release);
  let commands = 0;
  await Promise.all(
    inv.hosts.map(async (h) => {
      const conn = await connect(h, { ssh: inv.ssh });
      const facts = uniqueFacts(work.get(h.name)!.flatMap((w) => w.ops.flatMap((o) => o.facts)));
      for (const f of facts) {
        const res = await conn.exec({ script: f.script });
        f.parse(res.stdout, res.exitCode);
        commands++;
      }
      await conn.close();
    }),
  );
  return { ms: performance.now() - t0, commands };
}

const tandemMs: number[] = [];
const baselineMs: number[] = [];
let roundTrips: Record<string, number> = {};
let baselineCommands = 0;
for (let i = 0; i < runs; i++) {
  const t = tandemNoop();
  if (t.changed !== 0) throw new Error(`the lab is not converged (${t.changed} changes): run tandem apply first`);
  tandemMs.push(t.ms);
  roundTrips = t.roundTrips;
  const b = await perFactBaseline();
  baselineMs.push(b.ms);
  baselineCommands = b.commands;
}
const tm = median(tandemMs);
const bm = median(baselineMs);
console.log(`no-op apply, ${runs} runs each, side by side on ${Object.keys(roundTrips).join(', ')}`);
console.log(`  tandem (one batch per host, whole CLI process): median ${tm.toFixed(0)} ms, remote commands ${JSON.stringify(roundTrips)}`);
console.log(`  baseline (one command per fact, in-process):    median ${bm.toFixed(0)} ms, ${baselineCommands} remote commands`);
console.log(`  ratio baseline / tandem: ${(bm / tm).toFixed(2)}x`);
