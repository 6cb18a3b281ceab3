// The run lock: a second run is refused naming the holder and holding nothing; locks go back at
// the end; an expired lock, or any with --force-unlock, is taken over with a warning. Run against
// lock files in a folder of this test, through the same scripts a server runs.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunLocks, runLockInfo, type RunLockRequest } from '../../src/lock/run-lock.ts';
import { RunLockedError } from '../../src/errors.ts';
import { classify, EXIT } from '../../src/cli/exit.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import type { HostSpec } from '../../src/inventory/types.ts';
import { LocalConnection, localHost } from '../fixtures/local-connection.ts';

/** The error a promise rejects with; fails the test when it resolves. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  return assert.unreachable('expected a refusal') as never;
}

const NOW = new Date('2026-01-01T10:00:00Z');
const hosts = [localHost('web-01'), localHost('web-02')];

function fleet() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-runlock-'));
  const file = (host: string) => path.join(dir, host, 'run.lock');
  const warnings: string[] = [];
  const conns = new Map<string, LocalConnection>();
  const locks = () =>
    new RunLocks({
      connect: async (h: HostSpec) => conns.get(h.name) ?? conns.set(h.name, new LocalConnection(h)).get(h.name)!,
      redactor: new Redactor([]),
      warn: (m) => warnings.push(m),
      file,
    });
  return { file, warnings, locks, conns };
}

const request = (over: Partial<RunLockRequest> = {}): RunLockRequest => ({ verb: 'apply', holder: 'ops@ctl-1', pid: 4242, now: () => NOW, ...over });

test('run lock: a second run is refused, naming the holder (verb, pid, since, expiry), and holds nothing; exit 75', async () => {
  const f = fleet();
  const first = f.locks();
  await first.acquire(hosts, request());
  assert.equal(first.hosts, ['web-01', 'web-02']);
  const second = f.locks();
  const err = await rejection(second.acquire(hosts, request({ holder: 'dev@ctl-2', pid: 7, verb: 'deploy' })));
  assert.instance(err, RunLockedError);
  assert.is(
    (err as Error).message,
    'web-01: another tandem run holds the run lock: ops@ctl-1 (apply, pid 4242) since 2026-01-01T10:00:00.000Z (expires 2026-01-01T12:00:00.000Z). Wait for it to finish, or pass --force-unlock if it is dead.',
  );
  assert.equal(classify(err), { kind: 'locked', code: EXIT.locked });
  assert.equal(second.hosts, []);
  // The first run's locks are untouched by the refused one.
  for (const h of hosts) assert.equal(JSON.parse(readFileSync(f.file(h.name), 'utf8')), runLockInfo(request()));
  await first.release();
  for (const h of hosts) assert.not.ok(existsSync(f.file(h.name)), `${h.name}: released`);
  await second.acquire(hosts, request({ holder: 'dev@ctl-2' }));
  assert.equal(second.hosts, ['web-01', 'web-02']);
});

test('run lock: refused on a later host, the locks already taken go back', async () => {
  const f = fleet();
  const other = f.locks();
  await other.acquire([hosts[1]!], request({ holder: 'other@ctl' }));
  const mine = f.locks();
  const err = await rejection(mine.acquire(hosts, request()));
  assert.match((err as Error).message, /^web-02: another tandem run holds the run lock: other@ctl/);
  assert.not.ok(existsSync(f.file('web-01')), 'web-01 given back');
  assert.match(readFileSync(f.file('web-02'), 'utf8'), /other@ctl/);
});

test('run lock: an expired lock is taken over with a warning; a live one only with --force-unlock', async () => {
  const f = fleet();
  const old = f.locks();
  await old.acquire(hosts, request({ holder: 'gone@ctl', now: () => new Date('2025-12-31T00:00:00Z') }));
  const mine = f.locks();
  await mine.acquire(hosts, request());
  assert.match(f.warnings[0]!, /^web-01: taking over an expired run lock: gone@ctl \(apply, pid 4242\)/);
  const forced = f.locks();
  await forced.acquire(hosts, request({ holder: 'admin@ctl', forceUnlock: true }));
  assert.match(f.warnings.at(-1)!, /taking over a run lock \(--force-unlock\): ops@ctl-1/);
  // The run whose lock was taken over releases nothing of the new holder's.
  await mine.release();
  assert.match(readFileSync(f.file('web-01'), 'utf8'), /admin@ctl/);
});

test('run lock: a lock whose run is known to be gone (its process on this control host ended) is taken over with a warning', async () => {
  const f = fleet();
  await f.locks().acquire([hosts[0]!], request({ pid: 999_999, hostId: 'm1' }));
  const mine = f.locks();
  await mine.acquire([hosts[0]!], request({ pid: 5, hostId: 'm1', holderGone: (l) => l.hostId === 'm1' && l.pid === 999_999 }));
  assert.match(f.warnings[0]!, /^web-01: taking over a run lock whose run is gone \(pid 999999 no longer runs here\): ops@ctl-1 \(apply, pid 999999\)/);
  assert.equal(mine.hosts, ['web-01']);
});

test('run lock: an unreadable lock is refused (it may belong to a run going on now)', async () => {
  const f = fleet();
  const mine = f.locks();
  await mine.acquire([hosts[0]!], request());
  writeFileSync(f.file('web-01'), 'garbage');
  const err = await rejection(f.locks().acquire([hosts[0]!], request()));
  assert.match((err as Error).message, /^web-01: another tandem run holds the run lock: an unreadable lock \("garbage"\)/);
});

test.run();
