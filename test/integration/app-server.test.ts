// The sample app (examples/app) run as a child process with no database reachable.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedPort, NODE, rejects } from '../fixtures/app-tests.ts';
import { until } from '../fixtures/poll.ts';

const APP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/app');
const SERVER = path.join(APP_DIR, 'src/server.js');
const PKG_VERSION: string = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'package.json'), 'utf8')).version;


interface Running {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}


/** A "database" that accepts TCP connections and never answers (a hung server). */
/** A database port that accepts connections and never answers; counts the connections it got. */
async function hangingServer(): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const srv = net.createServer((s) => { accepted++; sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: async () => { for (const s of sockets) s.destroy(); await new Promise((r) => srv.close(r)); },
  };
}

async function startApp(env: Record<string, string>, script = SERVER, cwd = APP_DIR): Promise<Running> {
  const dead = await closedPort();
  const child = spawn(NODE, [script], {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      APP_HOST: '127.0.0.1',
      APP_PORT: '0',
      DB_PRIMARY_HOST: '127.0.0.1',
      DB_PRIMARY_PORT: String(dead),
      DB_LOCAL_HOST: '127.0.0.1',
      DB_LOCAL_PORT: String(dead),
      DB_NAME: 'app',
      DB_USER: 'app',
      DB_PASSWORD: 'secret-password',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`app did not start in 10 s:\n${out}`)), 10000);
    const onData = () => {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    };
    child.stdout!.on('data', onData);
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`app exited with ${code} before listening:\n${out}`)); });
  });
  return { child, port, output: () => out, exited };
}

async function stop(app: Running | undefined) {
  if (!app || app.child.exitCode !== null || app.child.signalCode !== null) return;
  app.child.kill('SIGKILL');
  await app.exited;
}

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: string; json?: any }

/** One HTTP request on a fresh connection (no keep-alive agent). */
function request(port: number, method: string, urlPath: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        const reply: Reply = { status: res.statusCode!, headers: res.headers, body: data };
        if (data && String(res.headers['content-type']).startsWith('application/json')) reply.json = JSON.parse(data);
        resolve(reply);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('GET /healthz answers 503 naming both failing sides, read and write, when no database is reachable', async () => {
  const app = await startApp({ APP_SERVER_NAME: 'web-test-1' });
  try {
    const r = await request(app.port, 'GET', '/healthz');
    assert.is(r.status, 503);
    assert.is(r.json.status, 'error');
    assert.is(r.json.read.ok, false);
    assert.is(r.json.write.ok, false);
    assert.match(r.json.write.error, /^the primary database is unavailable: .*ECONNREFUSED/);
    assert.match(r.json.read.error, /^the local database is unavailable: .*ECONNREFUSED/);
    const read = await request(app.port, 'GET', '/healthz/read');
    assert.is(read.status, 503);
    assert.is(read.json.read.ok, false);
    assert.is(read.json.write, undefined, '/healthz/read does not wait on the primary');
    assert.is(r.json.server, 'web-test-1');
    assert.is(r.json.version, PKG_VERSION);
    assert.is(r.headers['x-app-server'], 'web-test-1');
    assert.not.match(app.output(), /secret-password/);
    // the schema creation keeps retrying instead of crashing
    assert.match(app.output(), /schema: primary .* not ready/);
    assert.is(app.child.exitCode, null);
  } finally {
    await stop(app);
  }
});

test('GET /healthz reports a hung database as a timeout', async () => {
  const hung = await hangingServer();
  const app = await startApp({ DB_LOCAL_PORT: String(hung.port) });
  try {
    const r = await request(app.port, 'GET', '/healthz');
    assert.is(r.status, 503);
    assert.match(r.json.read.error, /timed out/);
    assert.match(r.json.write.error, /ECONNREFUSED/);
  } finally {
    await stop(app);
    await hung.close();
  }
});

test('GET /version, GET /, 404 and 405; APP_VERSION overrides the version', async () => {
  const app = await startApp({ APP_SERVER_NAME: 'web-<2>', APP_VERSION: '9.8.7-test' });
  try {
    const v = await request(app.port, 'GET', '/version');
    assert.is(v.status, 200);
    assert.match(String(v.headers['content-type']), /^text\/plain/);
    assert.is(v.body.trim(), '9.8.7-test');

    const page = await request(app.port, 'GET', '/');
    assert.is(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /web-&lt;2&gt;/); // server name, escaped
    assert.match(page.body, /9\.8\.7-test/);
    assert.match(page.body, /href="\/app\.css/);
    assert.match(page.body, /<form method="post" action="\/visits">/);
    assert.match(page.body, /Database unavailable/);

    const head = await request(app.port, 'HEAD', '/healthz');
    assert.is(head.status, 503);
    assert.is(head.body, '');

    const missing = await request(app.port, 'GET', '/app.css'); // Nginx serves it, not the app
    assert.is(missing.status, 404);
    const wrong = await request(app.port, 'DELETE', '/visits');
    assert.is(wrong.status, 405);
    assert.is(wrong.headers.allow, 'GET, HEAD, POST');
  } finally {
    await stop(app);
  }
});

test('/visits answers 503 JSON when the databases are down, 400 on bad input', async () => {
  const app = await startApp({});
  try {
    const post = await request(app.port, 'POST', '/visits', JSON.stringify({ note: 'hello' }), { 'Content-Type': 'application/json' });
    assert.is(post.status, 503);
    assert.is(post.json.error, 'writes are unavailable: the primary database is unavailable');
    assert.match(post.json.message, /ECONNREFUSED/);

    const form = await request(app.port, 'POST', '/visits', 'note=hi', { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/html' });
    assert.is(form.status, 503);

    const bad = await request(app.port, 'POST', '/visits', '{nope', { 'Content-Type': 'application/json' });
    assert.is(bad.status, 400);
    const long = await request(app.port, 'POST', '/visits', JSON.stringify({ note: 'x'.repeat(300) }), { 'Content-Type': 'application/json' });
    assert.is(long.status, 400);

    const list = await request(app.port, 'GET', '/visits');
    assert.is(list.status, 503);
    assert.is(list.json.error, 'local database unavailable');
    const badLimit = await request(app.port, 'GET', '/visits?limit=1000');
    assert.is(badLimit.status, 400);
    const one = await request(app.port, 'GET', '/visits/1');
    assert.is(one.status, 503);
  } finally {
    await stop(app);
  }
});

test('APP_FAIL_HEALTH=1 forces /healthz to 503 failing', async () => {
  const app = await startApp({ APP_FAIL_HEALTH: '1' });
  try {
    const r = await request(app.port, 'GET', '/healthz');
    assert.is(r.status, 503);
    assert.is(r.json.status, 'failing');
    assert.equal(r.json.checks, { forced: 'FAIL_HEALTH' });
  } finally {
    await stop(app);
  }
});

test('SIGTERM when idle (with an idle keep-alive connection open): exits 0 without waiting for that connection', async () => {
  const app = await startApp({});
  const agent = new http.Agent({ keepAlive: true });
  try {
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: app.port, path: '/version', agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
    });
    let exited = false;
    void app.exited.then(() => (exited = true));
    app.child.kill('SIGTERM');
    // Bounded below the server's keepAliveTimeout (5 s): waiting for the idle connection would miss it.
    await until('the app exited before its idle keep-alive connection timed out', () => exited, 4000);
    const { code } = await app.exited;
    assert.is(code, 0);
    assert.match(app.output(), /stopped cleanly/);
  } finally {
    agent.destroy();
    await stop(app);
  }
});

test('SIGTERM: refuses new connections, finishes the in-flight request, then exits 0', async () => {
  const hung = await hangingServer(); // makes GET /visits take ~2 s (mysql2 connectTimeout)
  const app = await startApp({ DB_LOCAL_PORT: String(hung.port) });
  try {
    const inFlight = request(app.port, 'GET', '/visits');
    await until('the request reached the database', () => hung.accepted() > 0);
    app.child.kill('SIGTERM');
    await until('new connections are refused', () => request(app.port, 'GET', '/version').then(() => false, () => true));
    const r = await inFlight;
    assert.is(r.status, 503); // answered, not cut off
    assert.is(r.json.error, 'local database unavailable');
    assert.is(r.headers.connection, 'close');
    const { code } = await app.exited;
    assert.is(code, 0);
    assert.match(app.output(), /SIGTERM: stopping; 1 request\(s\) in flight/);
    assert.match(app.output(), /stopped cleanly/);
  } finally {
    await stop(app);
    await hung.close();
  }
});

test('SIGTERM: the wait for in-flight requests is bounded', async () => {
  const hung = await hangingServer();
  const app = await startApp({ DB_LOCAL_PORT: String(hung.port), APP_SHUTDOWN_TIMEOUT_MS: '300' });
  try {
    const inFlight = request(app.port, 'GET', '/visits').then(() => 'answered', () => 'cut off');
    await until('the request reached the database', () => hung.accepted() > 0);
    app.child.kill('SIGTERM');
    const { code } = await app.exited;
    assert.is(code, 0);
    // Bounded: the app gave up on the request (which would be answered ~2 s later) and exited.
    assert.is(await inFlight, 'cut off');
    assert.match(app.output(), /shutdown timeout/);
  } finally {
    await stop(app);
    await hung.close();
  }
});

test('APP_START_DELAY_MS: the app says it waits, and listens only after the delay', async () => {
  const app = await startApp({ APP_START_DELAY_MS: '300' });
  try {
    const out = app.output();
    assert.match(out, /waiting 300 ms before listening/);
    assert.ok(out.indexOf('waiting 300 ms') < out.indexOf('listening on'), out);
    assert.is((await request(app.port, 'GET', '/version')).status, 200);
  } finally {
    await stop(app);
  }
});

test('a bad APP_START_DELAY_MS exits 2 with a message', async () => {
  await rejects(startApp({ APP_START_DELAY_MS: 'soon' }), /bad configuration: APP_START_DELAY_MS/);
});

test('a bad APP_PORT exits 2 with a message', async () => {
  await rejects(startApp({ APP_PORT: 'eighty' }), /bad configuration: APP_PORT/);
});

test.run();
