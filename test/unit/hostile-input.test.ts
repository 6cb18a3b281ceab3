// Hostile input, through the real CLI (in-process, with captured streams): every row of
// test/fixtures/hostile-rows.ts is refused with exit 4 and a message naming the field, flag or
// secret; no secret shows in any output; no host is contacted. The inventory's hosts are two
// loopback listeners that count the connections they get, and the control tests below prove
// that they do count.
import { suite } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { tandemInProcess } from '../fixtures/cli.ts';
import { testPrivateKey } from '../fixtures/keys.ts';
import { baseInventory, ROWS, SECRETS, type Fixture, type Row } from '../fixtures/hostile-rows.ts';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  connections: number;
}

let fixture: Fixture;
let secretsFile = '';
const listeners: net.Server[] = [];
let connections = 0;
const ports = { a: 0, b: 0, closed: 0 };

async function listen(): Promise<net.Server> {
  const server = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

async function setUp(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-hostile-'));
  fs.mkdirSync(path.join(dir, 'keys'));
  fs.writeFileSync(path.join(dir, 'keys', 'id_test'), testPrivateKey(), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'keys', 'id_test.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnW0Q3ipV1XOJriQdPr0g3BN1aXb/vJE5Ucn7yieJOX test\n');
  fs.writeFileSync(path.join(dir, 'plain.txt'), 'just text\n');
  fs.mkdirSync(path.join(dir, 'broken-app'));
  fs.writeFileSync(path.join(dir, 'broken-app', 'package.json'), '{ "name": "shop", "version": ');
  secretsFile = path.join(dir, 'hostile.secrets.yml');
  fs.writeFileSync(secretsFile, stringify(SECRETS), { mode: 0o600 });
  fixture = { dir, plainFile: path.join(dir, 'plain.txt'), brokenApp: path.join(dir, 'broken-app') };
  listeners.push(await listen(), await listen());
  ports.a = portOf(listeners[0]!);
  ports.b = portOf(listeners[1]!);
  const closed = await listen();
  ports.closed = portOf(closed);
  await new Promise((resolve) => closed.close(resolve));
}

async function tearDown(): Promise<void> {
  await Promise.all(listeners.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  fs.rmSync(fixture.dir, { recursive: true, force: true });
}

/** The CLI in-process, and how many connections the listeners got meanwhile. */
async function tandem(argv: string[], env: Record<string, string> = {}): Promise<Ran> {
  const before = connections;
  const r = await tandemInProcess(argv, env);
  return { ...r, connections: connections - before };
}

/** Placeholders in argv and env values that stand for fixture paths. */
function resolvePlaceholders(value: string): string {
  return value === 'BROKEN_APP' ? fixture.brokenApp : value === 'PLAIN_FILE' ? fixture.plainFile : value;
}

/** Writes the row's inventory (and secrets file) and returns the command line to run. */
function prepare(row: Row, n: number): { argv: string[]; env: Record<string, string> } {
  const file = path.join(fixture.dir, `hostile-${n}.yml`);
  const doc = baseInventory(ports);
  if (row.secretsText !== undefined) {
    doc.secrets = `hostile-${n}.secrets.yml`;
    fs.writeFileSync(path.join(fixture.dir, doc.secrets), row.secretsText, { mode: 0o600 });
  }
  row.inventory?.(doc, fixture);
  fs.writeFileSync(file, row.text ? row.text(fixture) : stringify(doc));
  const argv = row.argv.map(resolvePlaceholders);
  const env = Object.fromEntries(Object.entries(row.env ?? {}).map(([k, v]) => [k, resolvePlaceholders(v)]));
  return { argv: row.noInventory ? argv : [...argv, '-i', file], env };
}

function assertNothingHidden(row: Row, r: Ran): void {
  const out = r.stdout + r.stderr;
  for (const value of [...Object.values(SECRETS), ...(row.hidden ?? [])]) {
    assert.not.ok(out.includes(value), `${JSON.stringify(value)} was printed:\n${out}`);
  }
}

function assertRefused(row: Row, r: Ran, mode: string): void {
  const out = `[${mode}] stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  assert.is(r.code, 4, `exit code ${r.code}, expected 4\n${out}`);
  assert.is(r.connections, 0, `a host was contacted\n${out}`);
  assert.not.match(r.stderr, /internal error/, out);
  assert.not.match(r.stderr, /\n\s+at /, `a stack trace\n${out}`);
  assertNothingHidden(row, r);
}

function register(test: ReturnType<typeof suite>, row: Row, n: number): void {
  test(`${row.input}: exit 4, names it, no secret, no connection`, async () => {
    const text = await tandem(...Object.values(prepare(row, n)) as [string[], Record<string, string>]);
    assertRefused(row, text, 'text');
    const first = text.stderr.split('\n')[0]!;
    assert.match(first, /^error: /, text.stderr);
    assert.match(first, row.names, `the first line does not name it: ${first}`);

    const { argv, env } = prepare(row, n);
    const at = row.jsonAt ?? 1;
    const json = await tandem([...argv.slice(0, at), '--json', ...argv.slice(at)], env);
    assertRefused(row, json, 'json');
    let doc: { exitCode: number; error: { kind: string; message: string; exitCode: number } };
    try {
      doc = JSON.parse(json.stdout);
    } catch {
      assert.unreachable(`stdout is not one JSON document:\n${json.stdout}`);
      return;
    }
    assert.is(doc.exitCode, 4);
    assert.is(doc.error.exitCode, 4);
    assert.match(doc.error.message, row.names);
    if (row.kind) assert.is(doc.error.kind, row.kind);
  });
}

const hostile = suite('hostile input');
hostile.before(setUp);
hostile.after(tearDown);
ROWS.forEach((row, i) => register(hostile, row, i));

hostile('the table has at least 40 inputs, across every verb that reads an inventory', () => {
  assert.ok(ROWS.length >= 40, `${ROWS.length} rows`);
  const verbs = new Set(ROWS.map((r) => r.argv[0]));
  for (const verb of ['plan', 'apply', 'verify', 'status', 'deploy', 'rollback', 'demo', 'lab']) assert.ok(verbs.has(verb), verb);
});

// Controls: the same fixture with nothing wrong does reach the listeners, so "no connection"
// above means something; a closed port is exit 3 with the host named.
hostile('control: a valid inventory is contacted (the listener counts it) and exits 3 when the host hangs up', async () => {
  const { argv } = prepare({ input: 'valid', argv: ['plan', '--recipe', 'base', '--json'], names: /./ }, 1000);
  const r = await tandem(argv);
  assert.ok(r.connections >= 1, `no connection counted\n${r.stderr}`);
  assert.is(r.code, 3, r.stdout + r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.is(doc.exitCode, 3);
  assert.is(doc.error.kind, 'unreachable');
  assert.match(doc.error.host, /^web-0[12]$/);
  assert.ok(doc.hosts, 'the run report is there too');
  assertNothingHidden({ input: 'valid', argv: [], names: /./ }, r);
});

hostile('control: a host on a closed port exits 3, naming it, in text and in JSON', async () => {
  const row: Row = {
    input: 'closed port',
    argv: ['status', '--limit', 'web-01'],
    inventory: (d) => (d.hosts['web-01'].port = ports.closed),
    names: /./,
  };
  const text = await tandem(prepare(row, 1001).argv);
  assert.is(text.code, 3, text.stdout + text.stderr);
  assert.match(text.stdout, /web-01 .*unreachable: web-01 \(127\.0\.0\.1:\d+\) is unreachable/);
  const { argv } = prepare(row, 1001);
  const json = await tandem([...argv, '--json']);
  assert.is(json.code, 3);
  assert.equal(JSON.parse(json.stdout).error.kind, 'unreachable');
});

hostile.run();
