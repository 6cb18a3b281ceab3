// The parallel setting reaches the engine: through the real CLI (in-process), three servers that
// are loopback listeners holding each connection open until a second one arrives (or 0.8 s pass).
// With parallel 1, never two connections at once; with the default, they overlap. And --json
// carries peakRssKiB.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { tandemInProcess } from '../fixtures/cli.ts';
import { testPrivateKey } from '../fixtures/keys.ts';
import { SECRETS } from '../fixtures/hostile-rows.ts';

// Long enough that hosts contacted together would overlap; short, as the serial cases wait it out per host.
const HOLD_MS = 800;
let dir = '';
const servers: net.Server[] = [];
const held = new Set<net.Socket>();
const seen = { open: 0, maxOpen: 0, total: 0 };

function release(): void {
  for (const s of held) s.destroy();
  held.clear();
}

/** Each test's servers count only while that test runs (a late retry from an earlier one is dropped). */
let currentGroup = 0;

async function listen(group: number): Promise<number> {
  const server = net.createServer((socket) => {
    if (group !== currentGroup) return void socket.destroy();
    seen.total++;
    seen.open++;
    seen.maxOpen = Math.max(seen.maxOpen, seen.open);
    socket.on('close', () => group === currentGroup && seen.open--);
    socket.on('error', () => {});
    held.add(socket);
    // A second connection while one is held proves they overlap: let both go at once.
    if (held.size >= 2) release();
    else setTimeout(() => held.has(socket) && (held.delete(socket), socket.destroy()), HOLD_MS);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as net.AddressInfo).port;
}

async function inventory(extra: Record<string, unknown> = {}): Promise<string> {
  const group = ++currentGroup;
  const roles = [['lb', 'web', 'app', 'db-primary'], ['web', 'app', 'db-replica'], ['web', 'app', 'db-replica']];
  const hosts: Record<string, unknown> = {};
  for (const [i, r] of roles.entries()) hosts[`web-0${i + 1}`] = { address: '127.0.0.1', port: await listen(group), roles: r };
  const file = path.join(dir, `p-${servers.length}.yml`);
  fs.writeFileSync(file, stringify({ name: 'p', domain: 'p.test', ssh: { key: 'id_test', known_hosts: 'p.known_hosts', connect_timeout: 5 }, secrets: 'p.secrets.yml', hosts, ...extra }));
  return file;
}

async function plan(argv: string[]): Promise<{ code: number; maxOpen: number; total: number }> {
  Object.assign(seen, { open: 0, maxOpen: 0, total: 0 });
  const r = await tandemInProcess(['plan', '--recipe', 'base', ...argv]);
  release();
  return { code: r.code, maxOpen: seen.maxOpen, total: seen.total };
}

test.before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-parallel-'));
  fs.writeFileSync(path.join(dir, 'id_test'), testPrivateKey(), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'p.secrets.yml'), stringify(SECRETS), { mode: 0o600 });
});

test.after(async () => {
  release();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('--parallel 1: the servers are contacted one at a time, every one of them', async () => {
  const r = await plan(['--parallel', '1', '-i', await inventory()]);
  assert.is(r.code, 3, 'unreachable servers');
  assert.is(r.total, 3);
  assert.is(r.maxOpen, 1);
});

test('parallel: 1 in the inventory: the same', async () => {
  const r = await plan(['-i', await inventory({ parallel: 1 })]);
  assert.is(r.total, 3);
  assert.is(r.maxOpen, 1);
});

test('the default (20): the servers are contacted together', async () => {
  const r = await plan(['-i', await inventory()]);
  assert.is(r.code, 3);
  assert.ok(r.maxOpen >= 2, `at most ${r.maxOpen} connection open at once`);
});

test('plan --json reports the control process\'s peak memory (peakRssKiB)', async () => {
  const r = await tandemInProcess(['plan', '--recipe', 'base', '--json', '-i', await inventory()]);
  release();
  const doc = JSON.parse(r.stdout) as { peakRssKiB?: unknown; exitCode: number };
  assert.is(doc.exitCode, 3);
  assert.type(doc.peakRssKiB, 'number');
  assert.ok((doc.peakRssKiB as number) > 10_000, `${String(doc.peakRssKiB)} KiB: a Node process holds more than 10 MiB`);
});

test('--parallel wins over the inventory', async () => {
  const r = await plan(['--parallel', '20', '-i', await inventory({ parallel: 1 })]);
  assert.ok(r.maxOpen >= 2, `at most ${r.maxOpen} connection open at once`);
});

test.run();
