// The run lock: its script run by a local sh (a copy of sh named like a connection's process
// stands for the sshd session), the decisions as tables, and the refusal a second run gets.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunLocks, runLockInfo, type RunLockRequest } from '../../src/lock/run-lock.ts';
import { contention, parseLockReading, runLockScript } from '../../src/lock/session-lock.ts';
import { RunLockedError } from '../../src/errors.ts';
import { classify, EXIT } from '../../src/cli/exit.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import type { HostSpec } from '../../src/inventory/types.ts';
import { LocalConnection, localHost } from '../fixtures/local-connection.ts';

const NOW = new Date('2026-01-01T10:00:00Z');
const request = (over: Partial<RunLockRequest> = {}): RunLockRequest => ({ verb: 'apply', holder: 'ops@ctl-1', pid: 4242, now: () => NOW, nonce: 'aaaa', ...over });

const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-runlock-'));
/** A copy of sh whose process name stands for the connection's sshd session process. */
const SESSION = 'tlsession';
copyFileSync('/bin/sh', path.join(dir, SESSION));
spawnSync('chmod', ['+x', path.join(dir, SESSION)]);
let n = 0;
const lockFile = () => path.join(dir, `l${n++}`, 'run.lock');
const script = (file: string, over: Partial<RunLockRequest> = {}, expected?: string) => runLockScript(file, runLockInfo(request(over)), { expected, sessionNames: [SESSION] });

/** Runs the script in a fresh "connection" that ends with it. */
function once(s: string): string {
  const r = spawnSync(path.join(dir, SESSION), ['-c', 'sh -c "$1"', 'x', s], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return r.stdout;
}

/** Runs the script in a "connection" that stays open until `end()`. */
async function holding(s: string): Promise<{ child: ChildProcess; out: string; end(): Promise<void> }> {
  const child = spawn(path.join(dir, SESSION), ['-c', 'sh -c "$1"; echo done; sleep 60', 'x', s]);
  let out = '';
  await new Promise<void>((resolve) => child.stdout!.on('data', (b: Buffer) => ((out += b.toString()), out.includes('done\n') && resolve())));
  return { child, out, end: () => new Promise((resolve) => (child.once('exit', () => resolve()), child.kill('SIGKILL'))) };
}

const startOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[19];

test('run lock script: a free lock is taken, recording the connection process (pid and start time)', async () => {
  const f = lockFile();
  const h = await holding(script(f));
  assert.match(h.out, /^taken\n/);
  const lock = JSON.parse(readFileSync(f, 'utf8'));
  assert.is(lock.session, `${h.child.pid} ${startOf(h.child.pid!)}`);
  assert.is(lock.holder, 'ops@ctl-1');
  await h.end();
});

test('run lock script: a live holder refuses (its lock printed); once its connection ends the lock is stale and taken silently', async () => {
  const f = lockFile();
  const h = await holding(script(f));
  assert.equal(parseLockReading(once(script(f, { holder: 'dev@ctl-2' })), 0), { state: 'held', lock: readFileSync(f, 'utf8') });
  await h.end();
  assert.equal(parseLockReading(once(script(f, { holder: 'dev@ctl-2' })), 0), { state: 'taken' });
  assert.match(readFileSync(f, 'utf8'), /dev@ctl-2/);
});

test('run lock script: a recorded pid that now belongs to another process (other start time) is stale', () => {
  const f = lockFile();
  once(script(f));
  writeFileSync(f, readFileSync(f, 'utf8').replace(/"session":"[^"]*"/, `"session":"${process.pid} 1"`));
  assert.match(once(script(f, { holder: 'dev@ctl-2' })), /^taken\n/);
});

test('run lock script: the same connection takes it again; a lock with no session (unknown) is live; `expected` replaces only that lock', async () => {
  const f = lockFile();
  const s = script(f);
  const r = spawnSync(path.join(dir, SESSION), ['-c', 'sh -c "$1"; sh -c "$1"', 'x', s], { encoding: 'utf8' });
  assert.equal(r.stdout.split('\n').filter((l) => l === 'taken' || l === 'held'), ['taken', 'taken']);
  writeFileSync(f, JSON.stringify({ holder: 'old@ctl', since: 'x', until: 'y' }));
  assert.match(once(script(f)), /^held\n/);
  assert.match(once(script(f, {}, 'something else')), /^held\n/);
  assert.match(once(script(f, {}, readFileSync(f, 'utf8'))), /^taken\n/);
});

test('run lock: reading the section', () => {
  const rows: [string, number, ReturnType<typeof parseLockReading>][] = [
    ['taken\n{"a":1,"session":"12 345"}\n', 0, { state: 'taken' }],
    ['taken\n{"a":1,"session":""}\n', 0, { state: 'taken', untied: '{"a":1,"session":""}' }],
    ['held\n{"holder":"x"}\n', 0, { state: 'held', lock: '{"holder":"x"}' }],
    ['error: the run lock guard stayed busy\n', 1, { state: 'error', text: 'taking the run lock failed (exit 1): error: the run lock guard stayed busy' }],
    ['', 0, { state: 'error', text: 'taking the run lock failed (exit 0): ' }],
  ];
  for (const [out, code, want] of rows) assert.equal(parseLockReading(out, code), want, JSON.stringify(out));
});

test('run lock: two runs started together, the older waits and the younger is refused', () => {
  const t = (s: string) => `2026-01-01T10:00:0${s}Z`;
  const rows: [{ since: string; nonce: string }, { since?: string; nonce?: string }, 'wait' | 'refuse'][] = [
    [{ since: t('1'), nonce: 'b' }, { since: t('2'), nonce: 'a' }, 'wait'],
    [{ since: t('2'), nonce: 'a' }, { since: t('1'), nonce: 'b' }, 'refuse'],
    [{ since: t('1'), nonce: 'a' }, { since: t('1'), nonce: 'b' }, 'wait'],
    [{ since: t('1'), nonce: 'b' }, { since: t('1'), nonce: 'a' }, 'refuse'],
    // A lock of an older tandem (no nonce) or unreadable times: refused, never waited on.
    [{ since: t('1'), nonce: 'a' }, { since: t('2') }, 'refuse'],
    [{ since: t('1'), nonce: 'a' }, { since: 'garbage', nonce: 'b' }, 'refuse'],
  ];
  for (const [mine, theirs, want] of rows) assert.is(contention(mine, theirs), want, JSON.stringify([mine, theirs]));
  // Exactly one of two runs waits.
  for (const [a, b] of rows.slice(0, 4) as [{ since: string; nonce: string }, { since: string; nonce: string }, string][]) assert.is([contention(a, b), contention(b, a)].filter((x) => x === 'wait').length, 1);
});

const hosts = [localHost('web-01'), localHost('web-02')];
function fleet() {
  const d = mkdtempSync(path.join(os.tmpdir(), 'tandem-runlock-'));
  const file = (host: string) => path.join(d, host, 'run.lock');
  const warnings: string[] = [];
  const conns = new Map<string, LocalConnection>();
  const connect = async (h: HostSpec) => conns.get(h.name) ?? conns.set(h.name, new LocalConnection(h)).get(h.name)!;
  // No process stands for the connection here: every lock is live (only time or --force-unlock end it).
  const locks = (over: Partial<RunLockRequest> = {}) => new RunLocks({ redactor: new Redactor([]), warn: (m) => warnings.push(m), file, sessionNames: ['no-such-process'] }, request(over));
  return { file, warnings, locks, connect };
}

test('run lock: a younger run is refused, naming the holder (verb, pid, since, expiry); exit 75; a lock not tied to a connection is released', async () => {
  const f = fleet();
  const first = f.locks();
  await first.acquire(hosts, f.connect);
  const err = await f
    .locks({ holder: 'dev@ctl-2', pid: 7, verb: 'deploy', now: () => new Date(NOW.getTime() + 1000) })
    .acquire(hosts, f.connect)
    .then(() => undefined, (e: unknown) => e as Error);
  assert.instance(err, RunLockedError);
  assert.is(
    (err as Error).message,
    'web-01: another tandem run holds the run lock: ops@ctl-1 (apply, pid 4242) since 2026-01-01T10:00:00.000Z (expires 2026-01-01T12:00:00.000Z). Wait for it to finish, or pass --force-unlock if it is dead.',
  );
  assert.equal(classify(err), { kind: 'locked', code: EXIT.locked });
  for (const h of hosts) assert.match(readFileSync(f.file(h.name), 'utf8'), /ops@ctl-1/);
  // No process stood for the connection: the lock cannot end with it, so it is released.
  await first.release();
  for (const h of hosts) assert.not.ok(existsSync(f.file(h.name)), `${h.name}: released`);
});

test('run lock: an expired lock is taken over with a warning; a live one only with --force-unlock', async () => {
  const f = fleet();
  await f.locks({ holder: 'gone@ctl', now: () => new Date('2025-12-31T00:00:00Z') }).acquire(hosts, f.connect);
  await f.locks().acquire(hosts, f.connect);
  assert.match(f.warnings[0]!, /^web-01: taking over an expired run lock: gone@ctl \(apply, pid 4242\)/);
  await f.locks({ holder: 'admin@ctl', forceUnlock: true }).acquire(hosts, f.connect);
  assert.match(f.warnings.at(-1)!, /taking over a run lock \(--force-unlock\): ops@ctl-1/);
  assert.match(readFileSync(f.file('web-01'), 'utf8'), /admin@ctl/);
});

test('run lock: an unreadable lock is refused (it may belong to a run going on now)', async () => {
  const f = fleet();
  await f.locks().acquire([hosts[0]!], f.connect);
  writeFileSync(f.file('web-01'), 'garbage');
  const err = await f.locks().acquire([hosts[0]!], f.connect).then(() => undefined, (e: unknown) => e as Error);
  assert.instance(err, RunLockedError);
  assert.match((err as Error).message, /^web-01: another tandem run holds the run lock: an unreadable lock \("garbage"\)/);
});

test.run();
