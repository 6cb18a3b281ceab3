// Running the real CLI and real commands on lab servers, for the lab tests. Without -i, the CLI
// gets the lab inventory under test (TANDEM_LAB_INVENTORY, default inventory/lab.yml).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { LAB_INVENTORY, readInventory, ROOT, withInventory } from './variants.ts';
import { siteGet, siteOf, type HttpAnswer, type RequestOptions, type Site } from '../../src/verify/http.ts';

export { LAB_INVENTORY, ROOT };
/** The lab inventory as tandem reads it: addresses, the secrets and known_hosts files. */
export const LAB = readInventory();
export const addressOf = (host: string): string => LAB.hosts.find((h) => h.name === host)!.address;

let site: Site | undefined;
/**
 * A request through a load balancer (or the shared address) as a browser makes it: HTTPS for the
 * domain trusting the lab's CA when the lab inventory has a `tls:` section, plain HTTP without.
 * The CA is read at the first request: `lab up` writes it (Pebble makes a new one at each start).
 */
export function lbGet(address: string, path: string, opts: Omit<RequestOptions, 'ca'> & { timeoutMs?: number } = {}): Promise<HttpAnswer> {
  site ??= siteOf(LAB);
  return siteGet(site, address, path, opts.timeoutMs ?? 3000, opts);
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export function tandem(args: string[], env: NodeJS.ProcessEnv = {}): Ran {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...withInventory(args)], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 600_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms: Math.round(performance.now() - t0) };
}

export function tandemJson<T = any>(args: string[], env: NodeJS.ProcessEnv = {}): { code: number; json: T; stderr: string; ms: number } {
  const r = tandem([...args, '--json'], env);
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`tandem ${args.join(' ')} printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, json, stderr: r.stderr, ms: r.ms };
}

/**
 * One command on a lab server over the lab's own ssh (pinned key), as a person would. Its exit
 * code is the command's; ssh failing itself (exit 255) throws, so that no check of the output or
 * of a non-zero code can pass because the server was never reached.
 */
export function onHost(host: string, command: string): Ran {
  // ssh hands the remote shell one string, so the command goes as one argument.
  const r = tandem(['lab', 'ssh', host, command]);
  if (r.code === 255 || r.code === -1) throw new Error(`${host}: ssh failed (exit ${r.code}) running \`${command}\`: ${r.stderr.trim()}`);
  return r;
}

/** onHost for a command that must succeed: throws unless it exits 0, and returns its stdout. */
export function onHostOk(host: string, command: string): string {
  const r = onHost(host, command);
  if (r.code !== 0) throw new Error(`${host}: \`${command}\` exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The CLI in the background, so the test process keeps sending requests meanwhile. */
export function tandemAsync(args: string[], env: NodeJS.ProcessEnv = {}, onSpawn?: (child: ChildProcess) => void): Promise<Ran> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...withInventory(args)], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Math.round(performance.now() - t0) }));
  });
}

/** A copy of the sample app with another version, and optionally its test hooks set. */
export function appVersion(version: string, opts: { failHealth?: boolean; startDelayMs?: number } = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `tandem-app-${version}-`));
  cpSync(path.join(ROOT, 'examples/app'), dir, { recursive: true, filter: (src) => !src.includes('node_modules') });
  const pkg = path.join(dir, 'package.json');
  writeFileSync(pkg, readFileSync(pkg, 'utf8').replace(/"version": "[^"]+"/, `"version": "${version}"`));
  if (opts.failHealth) writeFileSync(path.join(dir, 'FAIL_HEALTH'), 'this release fails its health check\n');
  else rmSync(path.join(dir, 'FAIL_HEALTH'), { force: true });
  if (opts.startDelayMs) writeFileSync(path.join(dir, 'START_DELAY_MS'), `${opts.startDelayMs}\n`);
  return dir;
}

/** A copy of the shipped templates whose Nginx site has a directive Nginx refuses (`nginx -t` fails). */
export function brokenNginxTemplates(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-tpl-'));
  cpSync(path.join(ROOT, 'templates'), dir, { recursive: true });
  const site = path.join(dir, 'nginx/site.conf.ejs');
  const broken = readFileSync(site, 'utf8').replace(/^(\s*)root /m, '$1bogus_directive on;\n$1root ');
  if (!broken.includes('bogus_directive on;')) throw new Error(`${site}: no root directive to put the bad one before`);
  writeFileSync(site, broken);
  return dir;
}
