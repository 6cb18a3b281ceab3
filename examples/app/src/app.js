// tandem sample app: node:http + two mysql2 pools (writes -> primary, reads -> local db).
// Plain ESM JavaScript; must run on Node 18.19 (Debian 12's nodejs) without a build step.
import http from 'node:http';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { createMetrics, routeOf } from './metrics.js';

/** The release directory (parent of src/): holds package.json, VERSION, FAIL_HEALTH, START_DELAY_MS. */
export const APP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const SCHEMA_SQL = `CREATE TABLE IF NOT EXISTS visits (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  server VARCHAR(255) NOT NULL,
  note VARCHAR(255) NULL,
  PRIMARY KEY (id),
  KEY visits_created_at (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

const MAX_BODY = 64 * 1024;
const MAX_NOTE = 255;

function portFrom(value, fallback, name) {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got ${JSON.stringify(value)}`);
  return n;
}

function msFrom(value, fallback, name) {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number of milliseconds, got ${JSON.stringify(value)}`);
  return n;
}

function secondsFrom(value, fallback, name) {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number of seconds, got ${JSON.stringify(value)}`);
  return n;
}

/** Version: env APP_VERSION, else the VERSION file of the release, else package.json's version. */
export function readVersion(env = process.env, appDir = APP_DIR) {
  if (env.APP_VERSION) return env.APP_VERSION.trim();
  try {
    const v = fs.readFileSync(path.join(appDir, 'VERSION'), 'utf8').trim();
    if (v) return v;
  } catch { /* no VERSION file */ }
  try {
    return JSON.parse(fs.readFileSync(path.join(appDir, 'package.json'), 'utf8')).version || '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** A test hook: a START_DELAY_MS file in the release makes the app wait that long before it listens. */
function startDelayFromFile(appDir) {
  try {
    return fs.readFileSync(path.join(appDir, 'START_DELAY_MS'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * KEY=VALUE lines of an env file (comments and blank lines skipped; a "double-quoted" value has
 * its backslash escapes undone), as systemd's EnvironmentFile reads the simple cases.
 */
export function parseEnvText(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const raw = m[2].trim();
    out[m[1]] = raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return out;
}

/**
 * The environment with DB_FILE's settings over it: the database servers the app uses live in a
 * file of their own, which a promotion rewrites before it signals the app (SIGHUP).
 */
export function withDbFile(env) {
  if (!env.DB_FILE) return env;
  let text;
  try {
    text = fs.readFileSync(env.DB_FILE, 'utf8');
  } catch (err) {
    throw new Error(`DB_FILE ${env.DB_FILE} cannot be read: ${err.message}`);
  }
  return { ...env, ...parseEnvText(text) };
}

/** All settings come from the environment (the systemd unit loads an env file) and DB_FILE. */
export function loadConfig(rawEnv = process.env, appDir = APP_DIR) {
  const env = withDbFile(rawEnv);
  const localHost = env.DB_LOCAL_HOST || '127.0.0.1';
  const localPort = portFrom(env.DB_LOCAL_PORT, 3306, 'DB_LOCAL_PORT');
  const common = {
    database: env.DB_NAME || 'tandem_app',
    user: env.DB_USER || 'tandem_app',
    password: env.DB_PASSWORD ?? '',
    // TLS to the database, its certificate checked against this CA (tandem's own, which signs the
    // database servers' certificates only); accounts used from another host accept TLS only.
    // mysql2 checks the name only for host names, never an address (it would compare "localhost").
    ...(env.DB_SSL_CA ? { ssl: { ca: fs.readFileSync(env.DB_SSL_CA, 'utf8') } } : {}),
  };
  return {
    appDir,
    host: env.APP_HOST || '127.0.0.1',
    port: portFrom(env.APP_PORT, 3000, 'APP_PORT'),
    hostname: os.hostname(),
    serverName: env.APP_SERVER_NAME || os.hostname(),
    version: readVersion(env, appDir),
    forceFailHealth: env.APP_FAIL_HEALTH === '1',
    healthTimeoutMs: msFrom(env.APP_HEALTH_TIMEOUT_MS, 1000, 'APP_HEALTH_TIMEOUT_MS'),
    shutdownTimeoutMs: msFrom(env.APP_SHUTDOWN_TIMEOUT_MS, 10000, 'APP_SHUTDOWN_TIMEOUT_MS'),
    startDelayMs: msFrom(env.APP_START_DELAY_MS ?? startDelayFromFile(appDir), 0, 'APP_START_DELAY_MS'),
    db: {
      maxReplicaLagSeconds: secondsFrom(env.DB_MAX_REPLICA_LAG, 10, 'DB_MAX_REPLICA_LAG'),
      primary: { host: env.DB_PRIMARY_HOST || localHost, port: portFrom(env.DB_PRIMARY_PORT, 3306, 'DB_PRIMARY_PORT'), ...common },
      local: { host: localHost, port: localPort, ...common },
    },
  };
}

function createDbPool(db, connectionLimit = 4) {
  return mysql.createPool({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database: db.database,
    ...(db.ssl ? { ssl: db.ssl } : {}),
    connectionLimit,
    maxIdle: connectionLimit,
    idleTimeout: 60000,
    queueLimit: 100,
    connectTimeout: 2000,
    enableKeepAlive: true,
    timezone: 'Z', // DATETIME values are written and read as UTC
  });
}

function errorText(err) {
  if (!err) return 'unknown error';
  if (err.message) return err.message;
  if (err.code) return String(err.code);
  if (Array.isArray(err.errors) && err.errors.length) return err.errors.map(errorText).join('; ');
  return String(err);
}

/** Resolve with the promise, or reject after ms; the loser's rejection is swallowed. */
function withTimeout(promise, ms, what) {
  let timer;
  promise.catch(() => {});
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A field of SHOW REPLICA STATUS under either engine's name (MariaDB keeps Slave_/Master_). */
const field = (row, ...names) => {
  for (const n of names) if (row[n] !== undefined) return row[n];
  return undefined;
};

/**
 * Whether a replica may serve reads, from its SHOW REPLICA STATUS row (undefined: not configured)
 * and whether the app reaches the primary itself. Pure. The IO thread retrying its connection
 * ("Connecting") is tolerated only when the primary is unreachable from here too: then no newer
 * data exists that the replica could be missing, and reads stay up; a reachable primary that the
 * replica cannot follow (a refused password, say) leaves its lag unknown, so it serves no reads.
 */
export function replicaReadHealth(row, { maxLagSeconds, primaryReachable }) {
  if (!row) return { ok: false, reason: 'replication is not configured on this replica' };
  const io = String(field(row, 'Slave_IO_Running', 'Replica_IO_Running') ?? '?');
  const sql = String(field(row, 'Slave_SQL_Running', 'Replica_SQL_Running') ?? '?');
  const rawLag = field(row, 'Seconds_Behind_Master', 'Seconds_Behind_Source');
  const lagSeconds = rawLag === null || rawLag === undefined || rawLag === '' || rawLag === 'NULL' ? null : Number(rawLag);
  const ioError = field(row, 'Last_IO_Error') || '';
  const sqlError = field(row, 'Last_SQL_Error') || '';
  const base = { io, sql, lagSeconds, maxLagSeconds };
  if (sql !== 'Yes') return { ...base, ok: false, reason: `the SQL thread is stopped${sqlError ? `: ${sqlError}` : ''}`, ...(sqlError && { error: sqlError }) };
  if (io === 'Connecting' && primaryReachable === false) {
    return { ...base, ok: true, reason: 'the primary cannot be reached: serving the data replicated before it went away', ...(ioError && { error: ioError }) };
  }
  if (io !== 'Yes') return { ...base, ok: false, reason: `the IO thread is ${io === 'No' ? 'stopped' : io}${ioError ? `: ${ioError}` : ''}`, ...(ioError && { error: ioError }) };
  if (lagSeconds === null || !Number.isFinite(lagSeconds)) return { ...base, ok: false, reason: 'the lag is unknown' };
  if (lagSeconds > maxLagSeconds) return { ...base, ok: false, reason: `the replica lags ${lagSeconds} s behind the primary, over the limit of ${maxLagSeconds} s` };
  return { ...base, ok: true };
}

const escapeHtml = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function visitRow(r) {
  const created = r.created_at instanceof Date ? r.created_at.toISOString() : r.created_at;
  return { id: Number(r.id), created_at: created, server: r.server, note: r.note ?? null };
}

/**
 * Build the app. Returns { server, config, start(), shutdown(reason) }.
 * start() listens and begins creating the schema in the background; it never
 * fails because the database is down.
 */
export function createApp(config = loadConfig(), { log = (...a) => console.log('[app]', ...a) } = {}) {
  let primary = createDbPool(config.db.primary);
  let local = createDbPool(config.db.local);
  // Health checks get connections of their own: under load they would otherwise queue behind the
  // requests and time out, and the load balancers would take a busy but healthy server out.
  const health = { primary: createDbPool(config.db.primary, 2), local: createDbPool(config.db.local, 2) };
  /** Pools replaced by repoint(), closed once the queries they still run have had time to end. */
  const retired = new Set();
  let stopping = false;
  let schemaReady = false;
  let inFlight = 0;
  const metrics = createMetrics();
  let retryTimer = null;

  const identity = () => ({ server: config.serverName, hostname: config.hostname, version: config.version });

  function send(res, status, body, type, headers = {}) {
    if (res.headersSent) return;
    const buf = Buffer.from(body);
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': buf.length,
      'Cache-Control': 'no-store',
      'X-App-Server': config.serverName,
      'X-App-Version': config.version,
      ...(stopping ? { Connection: 'close' } : {}),
      ...headers,
    });
    res.end(buf);
  }
  const sendJson = (res, status, obj, headers) => send(res, status, JSON.stringify(obj) + '\n', 'application/json; charset=utf-8', headers);

  async function ensureSchema() {
    if (schemaReady) return;
    await primary.query(SCHEMA_SQL);
    if (!schemaReady) log('schema ready: table visits exists on the primary');
    schemaReady = true;
  }

  function ensureSchemaWithRetry(delay = 500) {
    retryTimer = null;
    if (stopping || schemaReady) return;
    ensureSchema().catch((err) => {
      if (stopping) return;
      log(`schema: primary ${config.db.primary.host}:${config.db.primary.port} not ready (${errorText(err)}); retrying in ${delay} ms`);
      retryTimer = setTimeout(() => ensureSchemaWithRetry(Math.min(delay * 2, 30000)), delay);
      retryTimer.unref();
    });
  }

  async function check(pool, name, sql = 'SELECT 1') {
    try {
      const [rows] = await withTimeout(pool.query({ sql, timeout: config.healthTimeoutMs }), config.healthTimeoutMs, `${name} ${sql}`);
      return { error: null, rows };
    } catch (err) {
      return { error: errorText(err), rows: null };
    }
  }

  function forcedFailure() {
    return config.forceFailHealth || fs.existsSync(path.join(config.appDir, 'FAIL_HEALTH'));
  }

  /** Writes need the primary answering and writable. */
  async function writeHealth() {
    const p = await check(health.primary, 'primary', 'SELECT @@GLOBAL.read_only AS ro');
    if (p.error) return { ok: false, error: `the primary database is unavailable: ${p.error}` };
    if (Number(p.rows?.[0]?.ro) === 1) return { ok: false, error: 'the primary database is read-only' };
    return { ok: true };
  }

  /**
   * Reads need the local database answering and either writable (the primary: its data is the
   * newest) or replicating within the lag limit. A read-only server that does not replicate (a
   * former primary fenced by a failover, or one not set up yet) serves no reads: its data may be
   * stale or diverged. The role is read from the server, not configured: a promotion changes it.
   */
  async function readHealth() {
    const ro = await check(health.local, 'local', 'SELECT @@GLOBAL.read_only AS ro');
    if (ro.error) return { read: { ok: false, error: `the local database is unavailable: ${ro.error}` } };
    if (Number(ro.rows?.[0]?.ro) !== 1) return { read: { ok: true } };
    const st = await check(health.local, 'local', 'SHOW REPLICA STATUS');
    if (st.error) return { read: { ok: false, error: `the local database is unavailable: ${st.error}` } };
    const row = st.rows?.[0];
    if (!row) return { read: { ok: false, error: 'the local database is read-only and does not replicate (a fenced former primary, or not set up yet)' } };
    const io = row ? String(field(row, 'Slave_IO_Running', 'Replica_IO_Running')) : undefined;
    // Only a replica retrying its connection needs to know whether the primary is reachable at all.
    const primaryReachable = io === 'Connecting' ? !(await check(health.primary, 'primary')).error : undefined;
    const replication = replicaReadHealth(row, { maxLagSeconds: config.db.maxReplicaLagSeconds, primaryReachable });
    return { read: replication.ok ? { ok: true } : { ok: false, error: `replication: ${replication.reason}` }, replication };
  }

  /**
   * GET /healthz: 200 only when reads and writes both work. GET /healthz/read (the load
   * balancers' check): 200 while this server can serve reads; it never waits on the primary
   * unless the replica is retrying its connection to it. Both bodies say which side failed.
   */
  async function healthz(res, { readOnly }) {
    if (forcedFailure()) return sendJson(res, 503, { status: 'failing', checks: { forced: 'FAIL_HEALTH' }, ...identity() });
    if (stopping) return sendJson(res, 503, { status: 'stopping', checks: { shutdown: 'in progress' }, ...identity() });
    const [r, write] = await Promise.all([readHealth(), readOnly ? undefined : writeHealth()]);
    const body = {
      read: r.read,
      ...(write && { write }),
      ...(r.replication && { replication: r.replication }),
    };
    const ok = r.read.ok && (readOnly || write.ok);
    const status = r.read.ok && write?.ok !== false ? 'ok' : r.read.ok ? 'read-only' : 'error';
    return sendJson(res, ok ? 200 : 503, { status, ...body, ...identity() });
  }

  /** Latest visits + count from the LOCAL database (the replica on a replica host). */
  async function readVisits(limit) {
    try {
      const [[rows], [[countRow]]] = await Promise.all([
        local.query('SELECT id, created_at, server, note FROM visits ORDER BY id DESC LIMIT ?', [limit]),
        local.query('SELECT COUNT(*) AS n FROM visits'),
      ]);
      return { count: Number(countRow.n), visits: rows.map(visitRow) };
    } catch (err) {
      if (err && err.code === 'ER_NO_SUCH_TABLE') return { count: 0, visits: [] }; // not created/replicated yet
      throw err;
    }
  }

  async function listVisits(res, url) {
    const raw = url.searchParams.get('limit');
    const limit = raw === null ? 10 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return sendJson(res, 400, { error: 'limit must be an integer from 1 to 100' });
    try {
      const { count, visits } = await readVisits(limit);
      return sendJson(res, 200, { ...identity(), source: 'local', count, visits });
    } catch (err) {
      return sendJson(res, 503, { error: 'local database unavailable', message: errorText(err), ...identity() });
    }
  }

  async function getVisit(res, idText) {
    try {
      const [rows] = await local.query('SELECT id, created_at, server, note FROM visits WHERE id = ?', [idText]);
      if (!rows.length) return sendJson(res, 404, { error: 'visit not found', id: Number(idText), ...identity(), source: 'local' });
      return sendJson(res, 200, { ...identity(), source: 'local', visit: visitRow(rows[0]) });
    } catch (err) {
      if (err && err.code === 'ER_NO_SUCH_TABLE') return sendJson(res, 404, { error: 'visit not found', id: Number(idText), ...identity(), source: 'local' });
      return sendJson(res, 503, { error: 'local database unavailable', message: errorText(err), ...identity() });
    }
  }

  function readBody(req) {
    return new Promise((resolve, reject) => {
      const chunks = [];
      let size = 0;
      req.on('data', (c) => {
        size += c.length;
        if (size <= MAX_BODY) chunks.push(c);
        else reject(Object.assign(new Error('request body too large'), { status: 413 })); // answered with Connection: close
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  async function parseNote(req) {
    const body = await readBody(req);
    const type = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    let note = null;
    if (type === 'application/json' && body.trim()) {
      let parsed;
      try { parsed = JSON.parse(body); } catch { throw Object.assign(new Error('invalid JSON body'), { status: 400 }); }
      note = parsed && typeof parsed === 'object' ? parsed.note ?? null : null;
    } else if (type === 'application/x-www-form-urlencoded') {
      note = new URLSearchParams(body).get('note');
    }
    if (note === null || note === undefined) return null;
    if (typeof note !== 'string') throw Object.assign(new Error('note must be a string'), { status: 400 });
    note = note.trim();
    if (note.length > MAX_NOTE) throw Object.assign(new Error(`note is longer than ${MAX_NOTE} characters`), { status: 400 });
    return note || null;
  }

  /** Writes always go through the PRIMARY. */
  async function postVisit(req, res) {
    let note;
    try {
      note = await parseNote(req);
    } catch (err) {
      return sendJson(res, err.status || 400, { error: err.message }, err.status === 413 ? { Connection: 'close' } : {});
    }
    let id;
    try {
      await ensureSchema();
      const [result] = await primary.query('INSERT INTO visits (created_at, server, note) VALUES (UTC_TIMESTAMP(3), ?, ?)', [config.serverName, note]);
      id = Number(result.insertId);
    } catch (err) {
      return sendJson(res, 503, { error: 'writes are unavailable: the primary database is unavailable', message: errorText(err), ...identity() });
    }
    if ((req.headers.accept || '').includes('text/html')) {
      return send(res, 303, `See /\n`, 'text/plain; charset=utf-8', { Location: '/' });
    }
    return sendJson(res, 201, { id, server: config.serverName });
  }

  async function index(res) {
    let data = null;
    let dbError = null;
    try {
      data = await readVisits(10);
    } catch (err) {
      dbError = errorText(err);
    }
    const rows = data?.visits.map((v) => `<tr><td>${v.id}</td><td><time datetime="${escapeHtml(v.created_at)}">${escapeHtml(v.created_at)}</time></td><td>${escapeHtml(v.server)}</td><td>${escapeHtml(v.note ?? '')}</td></tr>`).join('\n') ?? '';
    const dbBlock = dbError
      ? `<p class="error">Database unavailable (local ${escapeHtml(config.db.local.host)}:${config.db.local.port}): ${escapeHtml(dbError)}</p>`
      : `<p class="counter">Visits recorded: <strong id="visit-count">${data.count}</strong></p>
    <table>
      <caption>Latest visits (read from the local database)</caption>
      <thead><tr><th>#</th><th>Time (UTC)</th><th>Recorded by</th><th>Note</th></tr></thead>
      <tbody>${rows || '<tr><td colspan="4">No visits yet.</td></tr>'}</tbody>
    </table>`;
    const html = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>tandem sample app — ${escapeHtml(config.serverName)}</title>
  <link rel="stylesheet" href="/app.css?v=${encodeURIComponent(config.version)}">
</head>
<body>
  <main>
    <h1>tandem sample app</h1>
    <p class="served-by">Served by <strong id="server-name">${escapeHtml(config.serverName)}</strong>
      (host <code id="hostname">${escapeHtml(config.hostname)}</code>), version <code id="version">${escapeHtml(config.version)}</code></p>
    ${dbBlock}
    <form method="post" action="/visits">
      <label>Note <input name="note" maxlength="${MAX_NOTE}" placeholder="optional"></label>
      <button type="submit">Record a visit</button>
    </form>
    <p class="links"><a href="/visits">/visits</a> · <a href="/healthz">/healthz</a> · <a href="/version">/version</a></p>
  </main>
</body>
</html>
`;
    return send(res, 200, html, 'text/html; charset=utf-8');
  }

  async function route(req, res) {
    const url = new URL(req.url || '/', 'http://localhost');
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const p = url.pathname;
    const allow = (methods) => sendJson(res, 405, { error: 'method not allowed' }, { Allow: methods });
    if (p === '/') return method === 'GET' ? index(res) : allow('GET, HEAD');
    if (p === '/healthz') return method === 'GET' ? healthz(res, { readOnly: false }) : allow('GET, HEAD');
    if (p === '/healthz/read') return method === 'GET' ? healthz(res, { readOnly: true }) : allow('GET, HEAD');
    if (p === '/metrics') return method === 'GET' ? send(res, 200, metrics.render(), 'text/plain; version=0.0.4; charset=utf-8') : allow('GET, HEAD');
    if (p === '/version') return method === 'GET' ? send(res, 200, config.version + '\n', 'text/plain; charset=utf-8') : allow('GET, HEAD');
    if (p === '/visits') {
      if (method === 'GET') return listVisits(res, url);
      if (method === 'POST') return postVisit(req, res);
      return allow('GET, HEAD, POST');
    }
    const m = /^\/visits\/(\d{1,18})$/.exec(p);
    if (m) return method === 'GET' ? getVisit(res, m[1]) : allow('GET, HEAD');
    return sendJson(res, 404, { error: 'not found', path: p });
  }

  const server = http.createServer((req, res) => {
    inFlight++;
    const began = process.hrtime.bigint();
    res.on('close', () => {
      inFlight--;
      metrics.observe(routeOf(URL.canParse(req.url || '/', 'http://localhost') ? new URL(req.url || '/', 'http://localhost').pathname : ''), res.statusCode, Number(process.hrtime.bigint() - began) / 1e9);
    });
    route(req, res).catch((err) => {
      log(`error handling ${req.method} ${req.url}: ${err && err.stack ? err.stack : err}`);
      sendJson(res, 500, { error: 'internal error' });
    });
  });

  async function start() {
    if (config.startDelayMs > 0) {
      log(`waiting ${config.startDelayMs} ms before listening (START_DELAY_MS test hook)`);
      await new Promise((resolve) => setTimeout(resolve, config.startDelayMs));
    }
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        const addr = server.address();
        log(`tandem-sample-app ${config.version} (${config.serverName}) listening on http://${addr.address}:${addr.port}`);
        log(`db primary ${config.db.primary.host}:${config.db.primary.port}, local ${config.db.local.host}:${config.db.local.port}, database ${config.db.local.database}, user ${config.db.local.user}`);
        ensureSchemaWithRetry();
        resolve(addr);
      });
    });
  }

  /**
   * Point the pools at the database servers of `next` (SIGHUP after a promotion): new requests
   * get connections to the new servers at once; the old pools are closed after the queries they
   * run have had time to end (a write there fails on its own, read-only, and is answered 503).
   */
  function repoint(next) {
    const moved = [];
    const same = (a, b) => a.host === b.host && a.port === b.port;
    if (!same(next.db.primary, config.db.primary)) {
      retired.add(primary).add(health.primary);
      primary = createDbPool(next.db.primary);
      health.primary = createDbPool(next.db.primary, 2);
      moved.push(`primary ${config.db.primary.host}:${config.db.primary.port} -> ${next.db.primary.host}:${next.db.primary.port}`);
    }
    if (!same(next.db.local, config.db.local)) {
      retired.add(local).add(health.local);
      local = createDbPool(next.db.local);
      health.local = createDbPool(next.db.local, 2);
      moved.push(`local ${config.db.local.host}:${config.db.local.port} -> ${next.db.local.host}:${next.db.local.port}`);
    }
    config.db = next.db;
    const closing = [...retired];
    const timer = setTimeout(() => {
      for (const pool of closing) {
        retired.delete(pool);
        pool.end().catch(() => undefined);
      }
    }, 5000);
    timer.unref();
    log(moved.length ? `database servers changed: ${moved.join(', ')}` : 'database servers unchanged');
    return moved;
  }

  let shutdownPromise = null;
  /** Stop accepting, let in-flight requests finish (bounded), close the pools. */
  function shutdown(reason = 'shutdown') {
    if (shutdownPromise) return shutdownPromise;
    stopping = true;
    if (retryTimer) clearTimeout(retryTimer);
    log(`${reason}: stopping; ${inFlight} request(s) in flight, waiting up to ${config.shutdownTimeoutMs} ms`);
    shutdownPromise = (async () => {
      const closed = new Promise((resolve) => server.close(() => resolve()));
      server.closeIdleConnections?.();
      // Node 18 keeps idle keep-alive sockets open after close(): keep closing them as requests finish.
      const idleSweep = setInterval(() => server.closeIdleConnections?.(), 100);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        log(`shutdown timeout: closing ${inFlight} unfinished request(s)`);
        server.closeAllConnections?.();
      }, config.shutdownTimeoutMs);
      await closed;
      clearTimeout(timer);
      clearInterval(idleSweep);
      await withTimeout(Promise.allSettled([primary, local, health.primary, health.local, ...retired].map((p) => p.end())), 1000, 'closing db pools').catch((err) => log(errorText(err)));
      log(timedOut ? 'stopped (after timeout)' : 'stopped cleanly');
    })();
    return shutdownPromise;
  }

  return {
    server,
    config,
    start,
    shutdown,
    repoint,
    get pools() {
      return { primary, local };
    },
  };
}
