// `npm test`: the unit tests (uvu over test/unit: no network, no servers, seconds), the
// integration tests (test/integration: local processes only, such as the sample app and npm
// building a release), then — as root — the lab tests: the lab is brought up once, each
// test/lab/*.test.ts runs serially in its own process on the lab inventory's release (Debian 13
// by default), then the core scenarios (CORE_FILES) again on every other release the lab builds,
// and the lab is torn down at the end whatever happens. Not root: says loudly that the lab tests
// did NOT run, which fails under CI=true. Ends with the line "N passed, N failed" (test cases).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireLockFile, labConfig, labDown, labUp, type LabEvent } from '../src/lab/index.ts';
import { TandemError } from '../src/errors.ts';
import { releaseInfo } from '../src/lab/base-recipe.ts';
import { labVariant, releaseRuns } from './lab/variants.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const labInventory = path.resolve(process.env.TANDEM_LAB_INVENTORY ?? path.join(root, 'inventory/lab.yml'));
const FILE_TIMEOUT_MS = Number(process.env.TANDEM_TEST_FILE_TIMEOUT_MS ?? 30 * 60_000);

const totals = { passed: 0, failed: 0, skipped: 0 };
const failures: string[] = [];
let current: ChildProcess | undefined;
/** Set by a signal: run nothing more, only tear down. */
let stopping = false;

const say = (line: string) => console.log(line);
const labProgress = (e: LabEvent) => say(`  lab: ${e.type === 'done' ? `done: ${e.message}` : e.message}`);

/** Pure: uvu's summary counts from its output (colours stripped), if it printed one. */
export function uvuSummary(output: string): { total: number; passed: number; skipped: number } | undefined {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const total = /Total:\s+(\d+)/.exec(plain);
  const passed = /Passed:\s+(\d+)/.exec(plain);
  const skipped = /Skipped:\s+(\d+)/.exec(plain);
  if (!total || !passed) return undefined;
  return { total: Number(total[1]), passed: Number(passed[1]), skipped: skipped ? Number(skipped[1]) : 0 };
}

/** Runs a child with output streamed through; resolves with its exit code and output. */
function runChild(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    current = child;
    let output = '';
    const timer = setTimeout(() => {
      say(`\n!! ${argv.join(' ')} ran over ${FILE_TIMEOUT_MS / 60_000} minutes: killing it`);
      child.kill('SIGKILL');
    }, FILE_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
      process.stderr.write(d);
    });
    child.on('error', (err) => {
      output += String(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}

export interface FileResult {
  passed: number;
  failed: number;
  skipped: number;
  /** Why it failed, as said in its output, one line each. */
  reasons: string[];
}

/**
 * Pure: what one test process amounts to. uvu's counts if it printed them; the failures uvu does
 * not count (a hook, an unhandled rejection: listed by test/fixtures/uvu.ts at exit) one each on top; a
 * process that exited non-zero with nothing counted, or printed no summary at all (it crashed,
 * or exited early), is one failure more, with the last lines it printed as the reason.
 */
export function fileResult(code: number, output: string): FileResult {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const summary = uvuSummary(plain);
  const uncounted = plain
    .split('\n')
    .filter((l) => l.startsWith('!!   '))
    .map((l) => l.slice(5));
  const failedTests = [...plain.matchAll(/^\s*FAIL\s+.*?"(.+)"\s*\n\s*(.*)$/gm)].map((m) => `test "${m[1]}": ${m[2]}`);
  const lastLines = () =>
    plain
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l && !/^\s+at /.test(l))
      .slice(-5)
      .join(' | ');
  const passed = summary?.passed ?? 0;
  const skipped = summary?.skipped ?? 0;
  // Each failure outside a test (a hook, a stray rejection) counts once more than uvu says.
  let failed = (summary ? summary.total - summary.passed - summary.skipped : 0) + uncounted.length;
  const reasons = [...failedTests, ...uncounted];
  if (!summary) {
    failed += 1;
    reasons.push(`exited ${code} without a test summary: ${lastLines() || 'no output'}`);
  } else if (code !== 0 && failed === 0) {
    failed += 1;
    reasons.push(`exited ${code} after its tests: ${lastLines()}`);
  }
  return { passed, failed, skipped, reasons };
}

/** Adds one test process's results to the totals; whether it passed. */
function record(name: string, code: number, output: string): boolean {
  const r = fileResult(code, output);
  totals.passed += r.passed;
  totals.skipped += r.skipped;
  totals.failed += r.failed;
  if (r.failed > 0) failures.push(`${name}: ${r.failed} failed${r.reasons.length ? `: ${r.reasons.join('; ')}` : ''}`);
  return r.failed === 0 && code === 0;
}

/** The command that runs a folder of *.test.ts files in one uvu process (test/unit, test/integration). */
export function uvuFolderArgv(folder: string): string[] {
  return [process.execPath, path.join(root, 'node_modules/uvu/bin.js'), '-r', 'tsx', folder, '\\.test\\.ts$'];
}

/** The command that runs one test file in its own process (each lab test file). */
export function testFileArgv(file: string): string[] {
  return [process.execPath, '--import', 'tsx', file];
}

/** One uvu run over a folder of *.test.ts files. */
async function uvuFolder(folder: 'test/unit' | 'test/integration', what: string): Promise<void> {
  say(`== ${what} (${folder}/*.test.ts)`);
  const { code, output } = await runChild(uvuFolderArgv(folder));
  record(folder, code, output);
}

let labIsUp = false;
let releaseRun: (() => Promise<void>) | undefined;
let tearingDown: Promise<void> | undefined;

function tearDown(): Promise<void> {
  tearingDown ??= (async () => {
    await takeDown();
    await releaseRun?.();
  })();
  return tearingDown;
}

async function takeDown(): Promise<void> {
  if (!labIsUp || process.env.TANDEM_KEEP_LAB) return;
  say('== lab down');
  try {
    await labDown(await labConfig(labInventory), { progress: labProgress });
    labIsUp = false;
  } catch (err) {
    totals.failed += 1;
    failures.push(`lab down: ${(err as Error).message}`);
    say(`!! lab down failed: ${(err as Error).message}`);
  }
}

async function labTests(): Promise<void> {
  const files = (await readdir(path.join(root, 'test/lab')))
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join('test/lab', f));
  if (process.getuid?.() !== 0) {
    say('');
    say('!! LAB TESTS DID NOT RUN: they need root (the lab makes a bridge, namespaces and containers).');
    say(`!! ${files.length} lab test file(s) skipped. Run \`sudo npm test\` to run them.`);
    if (process.env.CI === 'true') {
      say('!! CI=true: counting that as a failure.');
      totals.failed += 1;
      failures.push('lab tests did not run (not root)');
    }
    return;
  }
  if (files.length === 0) {
    say('== no lab test files in test/lab');
    return;
  }
  // Two runs against one lab would reset and tear down each other's hosts: take turns.
  const config = await labConfig(labInventory);
  releaseRun = await acquireLockFile(path.join(config.stateDir, 'test-run.lock'), 'npm test run on this lab', labProgress, FILE_TIMEOUT_MS);
  say(`== lab up (${labInventory})`);
  const started = Date.now();
  if (stopping) return;
  try {
    labIsUp = true; // from here on, whatever happens, tear down
    await labUp(await labConfig(labInventory), { progress: labProgress });
    say(`  lab: up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  } catch (err) {
    totals.failed += 1;
    failures.push(`lab up: ${(err as Error).message}`);
    say(`!! lab up failed: ${(err as Error).message}`);
    if (err instanceof TandemError && err.hint) say(`!! what to do: ${err.hint}`);
    return;
  }
  for (const run of releaseRuns(files, config.release)) {
    // The same lab, every server on this release: each file's reset boots them on it.
    const inventory = run.release === config.release ? labInventory : labVariant(run.release, (d) => {
      d.lab = { ...d.lab, release: run.release, hosts: {} };
    });
    const on = releaseInfo(run.release).name;
    // The file that ran just before on these servers, if it passed: it may hand its converged
    // stack to the next (test/lab/shared-stack.ts); a failed file's servers are never taken over.
    let handoffFrom: string | undefined;
    for (const file of run.files) {
      if (stopping) return;
      say(`== ${file} on ${on}`);
      const env: NodeJS.ProcessEnv = { ...process.env, TANDEM_LAB_INVENTORY: inventory };
      delete env.TANDEM_TEST_HANDOFF_FROM;
      if (handoffFrom) env.TANDEM_TEST_HANDOFF_FROM = handoffFrom;
      const { code, output } = await runChild(testFileArgv(file), env);
      handoffFrom = record(`${file} on ${on}`, code, output) ? file : undefined;
    }
  }
}

async function onSignal(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return; // a wrapper (tsx, npm) may relay the same signal again
  stopping = true;
  say(`\n!! ${signal}: stopping the tests and taking the lab down`);
  current?.kill('SIGKILL');
  await tearDown();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

async function main(): Promise<number> {
  process.on('SIGINT', (s) => void onSignal(s));
  process.on('SIGTERM', (s) => void onSignal(s));
  process.on('SIGHUP', (s) => void onSignal(s));
  try {
    await uvuFolder('test/unit', 'unit tests');
    await uvuFolder('test/integration', 'integration tests: local processes, no servers');
    await labTests();
  } catch (err) {
    totals.failed += 1;
    failures.push(`test runner: ${(err as Error).message}`);
    say(`!! the test runner itself failed: ${(err as Error).stack ?? String(err)}`);
  } finally {
    await tearDown();
  }
  say('');
  for (const f of failures) say(`failed: ${f}`);
  say(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
  return totals.failed > 0 ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // No top-level await: the unit tests load this file through uvu's require hook.
  void main().then((code) => (process.exitCode = code));
}
