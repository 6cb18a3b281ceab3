// The lab's ACME CA: Debian's pebble and pebble-challtestsrv, on the lab's gateway address only
// (each lab has its own), so the whole http-01 flow runs offline. challtestsrv answers DNS for
// the lab's domain with the load balancers' addresses; Pebble resolves through it and validates
// on their :80. Pebble makes a new root CA at each start: it is fetched from Pebble's management
// interface into the state folder (pebble/root.pem) for curl, browsers and the tests to trust.
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import { parseCidr } from './addr.ts';
import type { LabConfig } from './config.ts';
import { LabError } from './errors.ts';
import { childEnv, run, type Cmd, type Runner } from './exec.ts';
import { processArgv, sleep, stopProcess } from './processes.ts';

export const PEBBLE_ACME_PORT = 14000;
export const PEBBLE_MANAGEMENT_PORT = 15000;
export const CHALLTESTSRV_DNS_PORT = 8053;
export const CHALLTESTSRV_MANAGEMENT_PORT = 8055;

export interface PebbleFiles {
  dir: string;
  /** The certificate of Pebble's own HTTPS listeners (self-signed): what tls.acme.ca_bundle names. */
  directoryCa: string;
  directoryKey: string;
  config: string;
  /** The root of the certificates Pebble issues (new at each start). */
  root: string;
  log: string;
}

export function pebbleFiles(config: LabConfig): PebbleFiles {
  const dir = path.join(config.stateDir, 'pebble');
  return {
    dir,
    directoryCa: path.join(dir, 'directory-ca.pem'),
    directoryKey: path.join(dir, 'directory-key.pem'),
    config: path.join(dir, 'pebble.json'),
    root: path.join(dir, 'root.pem'),
    log: path.join(dir, 'pebble.log'),
  };
}

const gatewayOf = (config: LabConfig) => parseCidr(config.gateway).address;

/** The directory URL an inventory names for this lab. */
export const pebbleDirectoryUrl = (config: LabConfig) => `https://${gatewayOf(config)}:${PEBBLE_ACME_PORT}/dir`;

/** Pure: Pebble's configuration: listeners on the gateway, validation on the servers' :80 and :443. */
export function pebbleConfig(gateway: string, files: PebbleFiles): string {
  return JSON.stringify(
    {
      pebble: {
        listenAddress: `${gateway}:${PEBBLE_ACME_PORT}`,
        managementListenAddress: `${gateway}:${PEBBLE_MANAGEMENT_PORT}`,
        certificate: files.directoryCa,
        privateKey: files.directoryKey,
        httpPort: 80,
        tlsPort: 443,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    },
    null,
    2,
  );
}

/** Pure: the commands that start the two servers (their argv tells them apart from others' at `down`). */
export function pebbleCommands(gateway: string, files: PebbleFiles): { challtestsrv: Cmd; pebble: Cmd } {
  return {
    challtestsrv: {
      argv: [
        'pebble-challtestsrv',
        '-management', `${gateway}:${CHALLTESTSRV_MANAGEMENT_PORT}`,
        '-dns01', `${gateway}:${CHALLTESTSRV_DNS_PORT}`,
        '-http01', '', '-https01', '', '-tlsalpn01', '',
        '-defaultIPv6', '',
      ],
    },
    pebble: {
      argv: ['pebble', '-config', files.config, '-dnsserver', `${gateway}:${CHALLTESTSRV_DNS_PORT}`],
      // No random sleeps before validating, no nonces refused for practice: the lab is for speed.
      // No authorization reused (Pebble reuses half of them at random by default): every order
      // is validated through the load balancers, so a run's outcome does not depend on a coin.
      env: { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
    },
  };
}

/** Pure: the self-signed certificate of Pebble's listeners, valid for the gateway address. */
export function directoryCertCommand(gateway: string, files: PebbleFiles): Cmd {
  return {
    argv: [
      'openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
      '-subj', '/CN=tandem lab Pebble', '-addext', `subjectAltName=IP:${gateway},IP:127.0.0.1,DNS:localhost`,
      '-keyout', files.directoryKey, '-out', files.directoryCa,
    ],
  };
}

export const isPebbleArgv = (argv: readonly string[], files: PebbleFiles) => argv[0]?.endsWith('pebble') === true && argv.includes(files.config);
export const isChalltestsrvArgv = (argv: readonly string[], gateway: string) =>
  argv[0]?.endsWith('pebble-challtestsrv') === true && argv.includes(`${gateway}:${CHALLTESTSRV_DNS_PORT}`);

export interface PebblePids {
  pebble?: number;
  challtestsrv?: number;
}

interface Fetched {
  status: number;
  body: string;
}

function request(url: string, opts: { ca?: string; method?: string; body?: string }): Promise<Fetched | undefined> {
  return new Promise((resolve) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.request(url, { method: opts.method ?? 'GET', ca: opts.ca, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end(opts.body);
  });
}

async function start(cmd: Cmd, log: string): Promise<number> {
  const fd = openSync(log, 'a');
  const child = spawn(cmd.argv[0]!, cmd.argv.slice(1), { detached: true, stdio: ['ignore', fd, fd], env: childEnv(cmd.env) });
  closeSync(fd);
  const failed = new Promise<Error>((resolve) => child.on('error', resolve));
  child.unref();
  const early = await Promise.race([failed, sleep(50).then(() => undefined)]);
  if (early || child.pid === undefined) throw new LabError(`cannot start ${cmd.argv[0]}: ${early?.message ?? 'no PID'}`, { cause: early, hint: 'apt-get install pebble' });
  return child.pid;
}

/** Polls until `ready` gives a value, the process ends, or 15 s pass. */
async function until<T>(what: string, pid: number, log: string, ready: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const value = await ready();
    if (value !== undefined) return value;
    if (!(await processArgv(pid))) break;
    await sleep(100);
  }
  const said = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
  throw new LabError(`${what} did not start`, { hint: `read ${log}${said ? `; it said: ${said}` : ''}` });
}

/**
 * Starts challtestsrv and Pebble unless they run (the PIDs recorded), tells challtestsrv the
 * domain's addresses, and writes Pebble's current root to pebble/root.pem.
 */
export async function ensurePebble(
  config: LabConfig,
  known: PebblePids,
  dns: { domain: string; addresses: string[] },
  runner: Runner = run,
): Promise<{ pids: Required<PebblePids>; started: boolean; files: PebbleFiles }> {
  const gateway = gatewayOf(config);
  const files = pebbleFiles(config);
  await mkdir(files.dir, { recursive: true, mode: 0o755 });
  const running = async (pid: number | undefined, isOurs: (argv: string[]) => boolean) => pid !== undefined && isOurs((await processArgv(pid)) ?? []);
  const cmds = pebbleCommands(gateway, files);
  let started = false;
  let challtestsrv = known.challtestsrv;
  if (!(await running(challtestsrv, (a) => isChalltestsrvArgv(a, gateway)))) {
    challtestsrv = await start(cmds.challtestsrv, path.join(files.dir, 'challtestsrv.log'));
    started = true;
  }
  const management = `http://${gateway}:${CHALLTESTSRV_MANAGEMENT_PORT}`;
  // The domain (with its final dot) answers with the load balancers' addresses.
  const body = JSON.stringify({ host: `${dns.domain}.`, addresses: dns.addresses });
  await until('pebble-challtestsrv', challtestsrv!, path.join(files.dir, 'challtestsrv.log'), async () => {
    const res = await request(`${management}/add-a`, { method: 'POST', body });
    return res?.status === 200 ? true : undefined;
  });
  let pebble = known.pebble;
  if (!(await running(pebble, (a) => isPebbleArgv(a, files)))) {
    const made = await runner(directoryCertCommand(gateway, files));
    if (made.code !== 0) throw new LabError(`openssl could not make Pebble's certificate: ${made.stderr.trim()}`);
    await writeFile(files.config, pebbleConfig(gateway, files));
    pebble = await start(cmds.pebble, files.log);
    started = true;
  }
  const ca = await readFile(files.directoryCa, 'utf8');
  const root = await until('pebble', pebble!, files.log, async () => {
    const res = await request(`https://${gateway}:${PEBBLE_MANAGEMENT_PORT}/roots/0`, { ca });
    return res?.status === 200 ? res.body : undefined;
  });
  await writeFile(files.root, root);
  return { pids: { pebble: pebble!, challtestsrv: challtestsrv! }, started, files };
}

/** Stops both by PID (only if each still runs our command); returns the PIDs stopped. */
export async function stopPebble(config: LabConfig, known: PebblePids): Promise<number[]> {
  const files = pebbleFiles(config);
  const gateway = gatewayOf(config);
  const stopped: number[] = [];
  if (known.pebble !== undefined && (await stopProcess(known.pebble, (a) => isPebbleArgv(a, files), 2000))) stopped.push(known.pebble);
  if (known.challtestsrv !== undefined && (await stopProcess(known.challtestsrv, (a) => isChalltestsrvArgv(a, gateway), 2000))) stopped.push(known.challtestsrv);
  return stopped;
}
