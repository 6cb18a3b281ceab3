// Helpers for test/lab/*.test.ts: the lab's settings, pristine hosts, and commands over SSH.
// test/run.ts brings the lab up once before the lab test files and down after them; a file run
// on its own (`tsx test/lab/x.test.ts`, as root) can call ensureLab() first.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { labConfig, labReset, labUp, sshArgv, type LabConfig, type LabHost } from '../../src/lab/index.ts';
import { LAB_INVENTORY, withInventory } from './variants.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The lab inventory the tests use (TANDEM_LAB_INVENTORY overrides). */
export const labInventoryPath = LAB_INVENTORY;

let cached: Promise<LabConfig> | undefined;

/** The lab settings read from labInventoryPath (hosts, bridge, key and known_hosts paths). */
export function labSettings(): Promise<LabConfig> {
  cached ??= labConfig(labInventoryPath);
  return cached;
}

/** Where a lab test file that ends with the stack converged says so (test/lab/shared-stack.ts). */
export const handoffFile = (config: LabConfig): string => path.join(config.stateDir, 'test-handoff.json');

export async function labHosts(): Promise<LabHost[]> {
  return (await labSettings()).hosts;
}

const log = (line: string) => {
  if (process.env.TANDEM_TEST_VERBOSE) console.error(line);
};

/** Brings the lab up if it is not (a no-op taking about a second when it is). */
export async function ensureLab(): Promise<void> {
  await labUp(await labSettings(), { progress: (e) => log(`lab: ${e.message}`) });
}

/** Resets the named hosts (default: all) to pristine: fresh overlay, new host key re-pinned. */
export async function resetHosts(names?: string[]): Promise<void> {
  // Reset servers are no longer the stack some file handed off (test/lab/shared-stack.ts).
  rmSync(handoffFile(await labSettings()), { force: true });
  await labReset(await labSettings(), { ...(names ? { hosts: names } : {}), progress: (e) => log(`lab: ${e.message}`) });
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv, feeding `input` on stdin; kills it after timeoutMs (exit code 124 then). */
export function runArgv(argv: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? 124 : (code ?? 1), stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** The ssh argv for a lab host: lab key, pinned known_hosts, StrictHostKeyChecking=yes, BatchMode. */
export async function sshArgsFor(host: string, command: string[] = []): Promise<string[]> {
  const config = await labSettings();
  const found = config.hosts.find((h) => h.name === host);
  if (!found) throw new Error(`no lab host ${host} in ${labInventoryPath}`);
  const argv = sshArgv(
    { keyPath: config.keyPath, knownHostsPath: config.knownHostsPath, user: config.sshUser, address: found.address },
    command,
  );
  return [argv[0]!, '-o', 'BatchMode=yes', ...argv.slice(1)];
}

/** Runs a shell command on a lab host over SSH. */
export async function sshExec(host: string, command: string, opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  return runArgv(await sshArgsFor(host, [command]), opts);
}

/** Runs the tandem CLI (`tsx src/cli/main.ts ARGS`, on the lab inventory unless ARGS name one) from the repository root. */
export function tandem(args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  return runArgv([process.execPath, '--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), ...withInventory(args)], opts);
}

/** Runs a shell command on a lab host over SSH and fails the test unless it exits 0. */
export async function sshOk(host: string, command: string, opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await sshExec(host, command, opts);
  if (r.code !== 0) throw new Error(`${host}: \`${command}\` exited ${r.code}${r.code === 255 ? ' (ssh itself failed)' : ''}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Polls `probe` until it returns a value other than undefined, and returns that value; fails the
 * test naming `what` and the last thing seen once `timeoutMs` has passed. The pause between polls
 * is a polling interval, not a wait for the state: the state is what ends the loop.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, opts: { timeoutMs?: number; everyMs?: number; seen?: () => string } = {}): Promise<T> {
  const deadline = performance.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (performance.now() > deadline) throw new Error(`gave up waiting ${opts.timeoutMs ?? 30_000} ms for ${what}${opts.seen ? `; last seen: ${opts.seen()}` : ''}`);
    await new Promise((res) => setTimeout(res, opts.everyMs ?? 200));
  }
}
