// Deadlines and waits that need real local processes and real seconds (moved out of test/unit
// to keep it fast): a command past its deadline is killed with its children, the engine goes on
// with the other host, a write stopped half-way leaves nothing, and listening() waits for a port.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommandTimeoutError } from '../../src/errors.ts';
import { runCommand } from '../../src/engine/commands.ts';
import { run } from '../../src/engine/run.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import type { Op } from '../../src/engine/types.ts';
import { atomicPutScript } from '../../src/ssh/connection.ts';
import { listening } from '../../src/ops/service.ts';
import { LocalConnection, localHost, localOwner } from '../fixtures/local-connection.ts';
import { until } from '../fixtures/poll.ts';

function running(pattern: string): boolean {
  return spawnSync('pgrep', ['-f', pattern]).status === 0;
}

test('a command past its deadline is killed where it runs, children included, and fails with "no answer"', async () => {
  const marker = `sleep 31.${process.pid}`;
  const conn = new LocalConnection(localHost('h1'), undefined, { default: 1, long: 1 });
  try {
    // The command starts a child and waits for it: both must go when the deadline passes.
    await runCommand(conn, { kind: 'script', script: `${marker} & wait`, describe: 'wait for a child' }, new Redactor([]));
    assert.unreachable();
  } catch (err) {
    assert.ok(err instanceof CommandTimeoutError, String(err));
    assert.is(err.message, 'h1: no answer in 1 s from `wait for a child`');
  }
  // Poll (bounded) for the child to be gone: the TERM went to its whole process group.
  await until(`${marker} gone`, () => !running(marker), 2000);
});

test('engine: the host whose command misses its deadline fails with "no answer", the other host completes', async () => {
  const slow = localHost('slow');
  const fast = localHost('fast');
  const conns = { slow: new LocalConnection(slow, undefined, { default: 1, long: 1 }), fast: new LocalConnection(fast, undefined, { default: 1, long: 1 }) };
  const op = (script: string): Op => ({
    id: 'wait',
    facts: [],
    plan: () => ({ summary: 'run it', commands: [{ kind: 'script', script, describe: script }], invalidates: [] }),
  });
  const report = await run({
    mode: 'apply',
    hosts: [slow, fast],
    work: new Map([
      ['slow', [{ phase: 'base', ops: [op('sleep 20')] }]],
      ['fast', [{ phase: 'base', ops: [op('true')] }, { phase: 'app', ops: [op('true')] }]],
    ]),
    connect: async (h) => conns[h.name as 'slow' | 'fast'],
    redactor: new Redactor([]),
    emit: () => {},
  });
  assert.is(report.hosts.slow!.error, 'slow: wait: no answer in 1 s from `sleep 20`');
  assert.is(report.hosts.fast!.failed, 0);
  assert.is(report.hosts.fast!.changed, 2, 'the other host did its work in both phases');
});

test('a write stopped by its deadline leaves neither the file nor a temporary one', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-put-'));
  try {
    const target = path.join(dir, 'app.env');
    // Its own process group, stdin left open (a slow upload): then TERM to the group, as `timeout` sends it.
    const child = spawn('sh', ['-c', atomicPutScript(target, { mode: '0600', ...localOwner() }, path.join(dir, 'backup'))], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.write('PASSWORD=half of it');
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await until('the write began', () => readdirSync(dir).length > 0, 2000);
    assert.equal(readdirSync(dir).filter((f) => f.startsWith('.tandem.')).length, 1, 'the write had begun');
    process.kill(-child.pid!, 'SIGTERM');
    assert.is.not(await exited, 0);
    assert.equal(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listening(): waits for a port that opens a moment later, and times out naming the port', async () => {
  // A free port: bound, noted, closed.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));

  const closed = spawnSync('sh', ['-c', (listening([port], 1) as { script: string }).script], { encoding: 'utf8' });
  assert.is(closed.status, 1);
  assert.is(closed.stderr.trim(), `nothing listens on :${port} 1 s after the reload`);

  const waiting = spawn('sh', ['-c', (listening([port], 5) as { script: string }).script]);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((r) => waiting.on('exit', (code) => r((exitCode = code))));
  // The waiter has probed the closed port and waits for its next try: its `sleep` is running.
  await until('the waiter sleeping between two probes', () => spawnSync('pgrep', ['-P', String(waiting.pid), '-x', 'sleep']).status === 0);
  assert.is(exitCode, undefined, 'still waiting while the port is closed');
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  try {
    assert.is(await exited, 0);
  } finally {
    await new Promise((r) => srv.close(r));
  }
});

test.run();
