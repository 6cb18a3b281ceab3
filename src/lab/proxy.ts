// apt-cacher-ng on the bridge address: the hosts' only way to Debian's packages. The lab runs
// its own instance (own config folder, pid recorded) instead of touching the system's service;
// its cache lives in the cache folder so it survives `lab down` and fresh clones.
import { openSync, closeSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseCidr } from './addr.ts';
import { aptCacherNg } from './commands.ts';
import type { LabConfig } from './config.ts';
import { LabError } from './errors.ts';
import { PROXY_PORT } from './guest-files.ts';
import { paths } from './layout.ts';
import { childEnv } from './exec.ts';
import { processArgv, sleep, stopProcess } from './processes.ts';
import { connect } from 'node:net';

export const DEBIAN_BACKEND = 'http://deb.debian.org/debian/';

export interface ProxyFiles {
  dir: string;
  cacheDir: string;
  bindAddress: string;
}

/** Pure: acng.conf for the lab's instance. Debian's default backend may not resolve: pin deb.debian.org. */
export function proxyConfig(f: ProxyFiles): string {
  return [
    '# Written by tandem lab; the lab starts apt-cacher-ng with -c pointing here.',
    `CacheDir: ${f.cacheDir}`,
    `LogDir: ${path.join(f.dir, 'log')}`,
    'SupportDir: /usr/lib/apt-cacher-ng',
    `Port: ${PROXY_PORT}`,
    `BindAddress: ${f.bindAddress}`,
    `SocketPath: ${path.join(f.dir, 'socket')}`,
    `PidFile: ${path.join(f.dir, 'pid')}`,
    'Remap-debrep: file:deb_mirror*.gz /debian ; file:backends_debian # Debian Archives',
    'Remap-secdeb: security.debian.org security.debian.org/debian-security deb.debian.org/debian-security /debian-security cdn-fastly.deb.debian.org/debian-security ; deb.debian.org/debian-security',
    'ExThreshold: 4',
    '',
  ].join('\n');
}

export function isProxyArgv(argv: readonly string[], configDir: string): boolean {
  return argv.some((a) => a.endsWith('apt-cacher-ng')) && argv.includes(configDir);
}

function portAnswers(address: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const done = (v: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => done(true));
    socket.on('error', () => done(false));
  });
}

export async function proxyRunning(config: LabConfig, pid: number | undefined): Promise<boolean> {
  if (pid === undefined) return false;
  const argv = await processArgv(pid);
  return !!argv && isProxyArgv(argv, paths.proxyDir(config));
}

/** Starts the lab's apt-cacher-ng unless it already runs; returns its PID. */
export async function ensureProxy(config: LabConfig, knownPid: number | undefined): Promise<{ pid: number; started: boolean }> {
  if (knownPid !== undefined && (await proxyRunning(config, knownPid))) return { pid: knownPid, started: false };
  const gateway = parseCidr(config.gateway).address;
  if (await portAnswers(gateway, PROXY_PORT)) {
    throw new LabError(`something else already listens on ${gateway}:${PROXY_PORT}`, {
      hint: 'probably the system apt-cacher-ng service: stop it (`systemctl disable --now apt-cacher-ng` or `service apt-cacher-ng stop`) so the lab can run its own',
    });
  }
  const dir = paths.proxyDir(config);
  const cacheDir = paths.aptCacheDir(config);
  await mkdir(path.join(dir, 'log'), { recursive: true, mode: 0o755 });
  await mkdir(cacheDir, { recursive: true, mode: 0o755 });
  await writeFile(path.join(dir, 'acng.conf'), proxyConfig({ dir, cacheDir, bindAddress: gateway }));
  await writeFile(path.join(dir, 'backends_debian'), `${DEBIAN_BACKEND}\n`);
  const logFile = path.join(dir, 'log', 'daemon.log');
  const fd = openSync(logFile, 'a');
  const cmd = aptCacherNg(dir);
  const child = spawn(cmd.argv[0]!, cmd.argv.slice(1), { detached: true, stdio: ['ignore', fd, fd], env: childEnv() });
  closeSync(fd);
  const spawnError = new Promise<Error>((resolve) => child.on('error', resolve));
  child.unref();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const failed = await Promise.race([spawnError, sleep(100).then(() => undefined)]);
    if (failed) throw new LabError(`cannot start apt-cacher-ng: ${failed.message}`, { cause: failed });
    if (child.pid !== undefined && !(await processArgv(child.pid))) break;
    if (await portAnswers(gateway, PROXY_PORT)) return { pid: child.pid!, started: true };
  }
  const log = await readFile(logFile, 'utf8').catch(() => '');
  if (child.pid !== undefined) await stopProcess(child.pid, (argv) => isProxyArgv(argv, dir));
  throw new LabError(`apt-cacher-ng did not start listening on ${gateway}:${PROXY_PORT}`, {
    hint: `read ${logFile} and ${path.join(dir, 'log', 'apt-cacher.err')}${log ? `; it said: ${log.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
  });
}

/** Stops the lab's apt-cacher-ng; returns the PIDs it stopped. */
export async function stopProxy(config: LabConfig, pid: number | undefined): Promise<number[]> {
  const dir = paths.proxyDir(config);
  const pids = new Set<number>();
  if (pid !== undefined) pids.add(pid);
  const fromFile = Number((await readFile(path.join(dir, 'pid'), 'utf8').catch(() => '')).trim());
  if (Number.isInteger(fromFile) && fromFile > 0) pids.add(fromFile);
  const stopped: number[] = [];
  for (const p of pids) if (await stopProcess(p, (argv) => isProxyArgv(argv, dir), 2000)) stopped.push(p);
  return stopped;
}
