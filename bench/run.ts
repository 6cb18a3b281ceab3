// The side-by-side benchmark, one command (root, on the lab; see bench/README.md):
//   npx tsx bench/run.ts [--hosts 2,16] [--runs 3] [--noop-runs 3] [--only help,fresh,noop] [-i INVENTORY]...
// For each lab inventory (default inventory/lab.yml and inventory/lab-16.yml; --hosts keeps those
// with that many servers) it times, on the same servers, in the same run:
//   fresh:  apt alone (one apt-get update + install per server, in parallel), tandem apply, and
//           ansible-playbook of bench/ansible/site.yml, each on servers just reset by `lab reset`;
//   no-op:  the same tandem apply and playbook again on the servers they just converged;
// and `tandem --help`. It prints medians, spreads (min-max) and ratios, and tandem's peak memory.
// Untimed: lab up/reset, building the release, Ansible's preparation (python3, python3-apt and
// python3-pymysql on the servers, then apt's index removed so the playbook refreshes it as
// tandem does), and `tandem verify` after the first fresh run of each tool.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadInventory } from '../src/inventory/load.ts';
import type { Inventory } from '../src/inventory/types.ts';
import { ansibleInventoryFor } from './ansible-inventory-file.ts';
import { parseRecap, recapProblem } from './ansible-recap.ts';
import { describe, ratio, summarize, type Summary } from './stats.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const TANDEM = [process.execPath, path.join(ROOT, 'bin/tandem.js')];
const PLAYBOOK = path.join(ROOT, 'bench/ansible/site.yml');

const { values } = parseArgs({
  options: {
    hosts: { type: 'string' },
    runs: { type: 'string', default: '3' },
    'noop-runs': { type: 'string', default: '3' },
    only: { type: 'string', default: 'help,fresh,noop' },
    inventory: { type: 'string', short: 'i', multiple: true },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a whole number of at least 1, not ${values.runs}`);
const only = new Set(values.only!.split(','));
// No-op runs after each fresh run: cheap, so more of them steady the no-op medians.
const noopRuns = Number(values['noop-runs']);
if (!Number.isInteger(noopRuns) || noopRuns < 1) throw new Error(`--noop-runs: expected a whole number of at least 1, not ${values['noop-runs']}`);
const wantedCounts = values.hosts?.split(',').map(Number);
const inventoryFiles = values.inventory ?? [path.join(ROOT, 'inventory/lab.yml'), path.join(ROOT, 'inventory/lab-16.yml')];

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function runTimed(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - t0 }));
  });
}

async function mustRun(what: string, argv: string[], env?: NodeJS.ProcessEnv): Promise<Ran> {
  const r = await runTimed(argv, env);
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${(r.stderr || r.stdout).slice(-3000)}`);
  return r;
}

const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** Everything one inventory's runs need, prepared untimed. */
interface Setup {
  file: string;
  inv: Inventory;
  hosts: string[];
  packages: Map<string, string[]>;
  ansibleInventory: string;
  secretsFile: string;
  work: string;
}

async function setUp(file: string): Promise<Setup> {
  const inv = await loadInventory(file);
  log(`${inv.hosts.length} servers (${file}): lab up`);
  await mustRun('lab up', [...TANDEM, 'lab', 'up', '-i', file]);
  const work = mkdtempSync(path.join(os.tmpdir(), 'tandem-bench-'));
  const { text, packages } = await ansibleInventoryFor(inv);
  const ansibleInventoryFile = path.join(work, 'inventory.yml');
  writeFileSync(ansibleInventoryFile, text);
  return { file, inv, hosts: inv.hosts.map((h) => h.name), packages, ansibleInventory: ansibleInventoryFile, secretsFile: inv.secretsFile, work };
}

/** A reset on a loaded machine can find a server's processes slow to die: one more try, then give up. */
async function reset(s: Setup): Promise<void> {
  const argv = [...TANDEM, 'lab', 'reset', '-i', s.file];
  const first = await runTimed(argv);
  if (first.code === 0) return;
  log(`lab reset failed (exit ${first.code}), trying once more: ${first.stderr.trim().split('\n')[0]}`);
  await mustRun('lab reset', argv);
}

function sshArgv(s: Setup, address: string, port: number, script: string): string[] {
  return ['ssh', '-i', s.inv.ssh.key, '-p', String(port), '-o', `UserKnownHostsFile=${s.inv.ssh.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `${s.inv.ssh.user}@${address}`, script];
}

/** apt alone: on every server at once, one `apt-get update` and one `apt-get install` of the recipes' packages. */
async function aptAlone(s: Setup): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    s.inv.hosts.map((h) =>
      mustRun(`apt on ${h.name}`, sshArgv(s, h.address, h.port, `export DEBIAN_FRONTEND=noninteractive; apt-get -q update >/dev/null && apt-get -q -y -o Dpkg::Options::=--force-confold --no-install-recommends install ${s.packages.get(h.name)!.join(' ')} >/dev/null`)),
    ),
  );
  return performance.now() - t0;
}

interface TandemRun {
  ms: number;
  changed: number;
  peakRssKiB?: number;
}

async function tandemApply(s: Setup): Promise<TandemRun> {
  const r = await runTimed([...TANDEM, 'apply', '--json', '-i', s.file]);
  if (r.code !== 0) throw new Error(`tandem apply failed (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
  const report = JSON.parse(r.stdout) as { summary: { changed: number }; peakRssKiB?: number };
  return { ms: r.ms, changed: report.summary.changed, ...(report.peakRssKiB !== undefined && { peakRssKiB: report.peakRssKiB }) };
}

function ansibleEnv(s: Setup): NodeJS.ProcessEnv {
  // A fresh ControlPersist folder per run: every run pays its own SSH handshakes, as tandem's do.
  const controlDir = mkdtempSync(path.join(s.work, 'cp-'));
  return { ...process.env, ANSIBLE_CONFIG: path.join(ROOT, 'bench/ansible/ansible.cfg'), ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir, ANSIBLE_NOCOLOR: '1' };
}

const forks = (s: Setup) => String(Math.max(20, s.hosts.length));

async function ansiblePrepare(s: Setup): Promise<void> {
  const script =
    'export DEBIAN_FRONTEND=noninteractive; apt-get -q update >/dev/null && ' +
    'apt-get -q -y --no-install-recommends install python3 python3-apt python3-pymysql >/dev/null && ' +
    // Back to the package index a fresh server has (none): the playbook must refresh it, as tandem
    // does. The apt module judges the index's age by the lists folder's time: make it ancient.
    'apt-get clean && rm -rf /var/lib/apt/lists/* /var/lib/apt/periodic/update-success-stamp && touch -d @0 /var/lib/apt/lists';
  await mustRun('ansible preparation', ['ansible', 'all', '-i', s.ansibleInventory, '--forks', forks(s), '-m', 'raw', '-a', script], ansibleEnv(s));
}

async function ansiblePlaybook(s: Setup, noop: boolean): Promise<number> {
  const r = await runTimed(['ansible-playbook', '-i', s.ansibleInventory, '-e', `@${s.secretsFile}`, '--forks', forks(s), PLAYBOOK], ansibleEnv(s));
  const problem = recapProblem(parseRecap(r.stdout), s.hosts, noop);
  if (r.code !== 0 || problem) throw new Error(`ansible-playbook (exit ${r.code}): ${problem ?? 'failed'}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
  return r.ms;
}

async function verify(s: Setup, after: string): Promise<string> {
  const r = await runTimed([...TANDEM, 'verify', '-i', s.file]);
  const line = `tandem verify after ${after}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`}`;
  log(line);
  if (r.code !== 0) log(r.stdout.slice(-3000));
  return line;
}

interface Result {
  hosts: number;
  samples: Record<string, number[]>;
  peakRssKiB: number[];
  notes: string[];
}

async function benchInventory(s: Setup): Promise<Result> {
  const samples: Record<string, number[]> = { 'apt alone, fresh': [], 'tandem, fresh': [], 'ansible, fresh': [], 'tandem, no-op': [], 'ansible, no-op': [] };
  const result: Result = { hosts: s.hosts.length, samples, peakRssKiB: [], notes: [] };
  const n = s.hosts.length;
  const tools = {
    tandem: async () => {
      const t = await tandemApply(s);
      if (t.peakRssKiB !== undefined) result.peakRssKiB.push(t.peakRssKiB);
      return t.ms;
    },
    ansible: () => ansiblePlaybook(s, false),
  };
  const noops = {
    tandem: async () => {
      const t = await tandemApply(s);
      if (t.changed !== 0) throw new Error(`tandem apply is not a no-op: ${t.changed} changes`);
      if (t.peakRssKiB !== undefined) result.peakRssKiB.push(t.peakRssKiB);
      return t.ms;
    },
    ansible: () => ansiblePlaybook(s, true),
  };
  for (let r = 1; r <= runs; r++) {
    if (only.has('fresh')) {
      log(`${n} servers, run ${r}/${runs}: reset, apt alone`);
      await reset(s);
      samples['apt alone, fresh']!.push(await aptAlone(s));
    }
    for (const tool of ['tandem', 'ansible'] as const) {
      // Without fresh runs, one untimed converge serves every no-op run.
      if (!only.has('fresh') && r > 1) {
        if (only.has('noop')) samples[`${tool}, no-op`]!.push(await noops[tool]());
        continue;
      }
      log(`${n} servers, run ${r}/${runs}: reset, ${tool} fresh`);
      await reset(s);
      if (tool === 'ansible') await ansiblePrepare(s);
      const ms = await tools[tool]();
      if (only.has('fresh')) samples[`${tool}, fresh`]!.push(ms);
      if (r === 1) result.notes.push(await verify(s, `${tool}'s fresh run`));
      if (only.has('noop')) {
        for (let k = 1; k <= noopRuns; k++) {
          log(`${n} servers, run ${r}/${runs}: ${tool} no-op ${k}/${noopRuns}`);
          samples[`${tool}, no-op`]!.push(await noops[tool]());
        }
      }
    }
  }
  return result;
}

function report(help: Summary | undefined, results: Result[]): string {
  const lines: string[] = [];
  lines.push(`tandem benchmark, ${new Date().toISOString()}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`);
  if (help) lines.push(`tandem --help: ${describe(help)}`);
  const summaries = new Map<number, Record<string, Summary | undefined>>();
  for (const r of results) {
    const s = Object.fromEntries(Object.entries(r.samples).map(([k, v]) => [k, v.length ? summarize(v) : undefined]));
    summaries.set(r.hosts, s);
    lines.push('', `${r.hosts} servers`);
    for (const [what, sum] of Object.entries(s)) if (sum) lines.push(`  ${what.padEnd(18)} ${describe(sum)}`);
    const ratios: [string, string | undefined][] = [
      ['fresh: tandem / apt alone', ratio(s['tandem, fresh'], s['apt alone, fresh'])],
      ['fresh: ansible / tandem', ratio(s['ansible, fresh'], s['tandem, fresh'])],
      ['no-op: ansible / tandem', ratio(s['ansible, no-op'], s['tandem, no-op'])],
    ];
    for (const [what, x] of ratios) if (x) lines.push(`  ${what.padEnd(26)} ${x}`);
    if (r.peakRssKiB.length) lines.push(`  tandem peak memory (control process): ${(Math.max(...r.peakRssKiB) / 1024).toFixed(0)} MiB`);
    for (const note of r.notes) lines.push(`  ${note}`);
  }
  const counts = [...summaries.keys()].sort((a, b) => a - b);
  if (counts.length > 1) {
    const small = summaries.get(counts[0]!)!;
    const big = summaries.get(counts[counts.length - 1]!)!;
    const x = ratio(big['tandem, no-op'], small['tandem, no-op']);
    if (x) lines.push('', `tandem no-op, ${counts[counts.length - 1]} servers / ${counts[0]} servers: ${x}`);
    const a = ratio(big['ansible, no-op'], small['ansible, no-op']);
    if (a) lines.push(`ansible no-op, ${counts[counts.length - 1]} servers / ${counts[0]} servers: ${a}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  let help: Summary | undefined;
  if (only.has('help')) {
    const ms: number[] = [];
    for (let i = 0; i < Math.max(runs, 5); i++) ms.push((await mustRun('tandem --help', [...TANDEM, '--help'])).ms);
    help = summarize(ms);
  }
  const results: Result[] = [];
  const setups: Setup[] = [];
  try {
    for (const file of inventoryFiles) {
      const inv = await loadInventory(file);
      if (wantedCounts && !wantedCounts.includes(inv.hosts.length)) continue;
      if (!only.has('fresh') && !only.has('noop')) continue;
      const s = await setUp(file);
      setups.push(s);
      results.push(await benchInventory(s));
    }
  } finally {
    for (const s of setups) rmSync(s.work, { recursive: true, force: true });
  }
  process.stdout.write(report(help, results) + '\n');
}

await main();
