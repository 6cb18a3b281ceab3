// Issue 10 on real lab servers: HTTPS on every load balancer with a certificate from the lab's
// Pebble (ACME http-01); the redirect, HSTS, TLS 1.2+ only, HTTP/2; a renewal under HTTPS load
// with 0 failed requests; replication over TLS and the app account refused without TLS.
// One provisioned stack for every scenario: the hosts are reset once, before the first.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import http2 from 'node:http2';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { addressOf, LAB, lbGet, onHost, onHostOk, tandem, tandemAsync, tandemJson } from './tandem.ts';
import { shellQuote } from '../../src/ssh/shell.ts';
import { resetHosts } from './harness.ts';
import { startLoad, steadyLoad } from './load.ts';
import { labVariant } from './variants.ts';
import { httpGet, siteOf } from '../../src/verify/http.ts';
import { tlsHandshake } from '../../src/verify/tls.ts';
import { HAPROXY_CERT } from '../../src/stack/names.ts';

const HOSTS = ['web-01', 'web-02'];
const LBS = HOSTS.map(addressOf);
const DOMAIN = LAB.domain;
const CERT_OP = `certificate ${HAPROXY_CERT}`;
/** A renewal of two load balancers under load lasts a few seconds; at the least rate that is over this many requests. */
const MIN_REQUESTS = 150;

if (!LAB.tls) throw new Error(`${LAB.file} has no tls: section; this test needs the lab's Pebble (see inventory/lab.yml)`);
const site = () => siteOf(LAB);
const rootCa = () => readFileSync(LAB.tls!.caFile!, 'utf8');

/** The certificate each load balancer serves, by its SHA-256 fingerprint. */
async function served(): Promise<string[]> {
  return Promise.all(
    LBS.map(
      (address) =>
        new Promise<string>((resolve, reject) => {
          const s = tls.connect({ host: address, port: 443, servername: DOMAIN, ca: rootCa() }, () => {
            resolve(new X509Certificate(s.getPeerX509Certificate()!.raw).fingerprint256);
            s.end();
          });
          s.on('error', reject);
        }),
    ),
  );
}

test.before(async () => {
  await resetHosts(HOSTS);
});

test('a fresh apply gets the certificate from Pebble through http-01, the same on both load balancers, and HAProxy serves it', async () => {
  const r = tandemJson(['apply']);
  assert.is(r.code, 0, r.stderr);
  const issued = HOSTS.map((h) => r.json.hosts[h].ops.find((o: any) => o.op === CERT_OP));
  for (const [i, op] of issued.entries()) {
    assert.ok(op, `${HOSTS[i]}: the report has the certificate op`);
    assert.is(op.status, 'changed');
    assert.is(op.summary, `certificate for ${DOMAIN}: issue`);
  }
  // The first load balancer to reach the op orders the certificate; the other waits for the same order.
  console.log(`    issue: ${Math.max(...issued.map((o: any) => o.durationMs))} ms for the certificate op (order, http-01 on both web servers, download), fresh apply ${r.ms} ms`);
  const prints = await served();
  assert.is(prints[0], prints[1], 'both load balancers serve the same certificate');
  const hand = await tlsHandshake(site(), LBS[0]!);
  assert.ok(hand.authorized, `the chain is valid against Pebble's root: ${hand.authorizationError}`);
  assert.equal(hand.names, [DOMAIN]);
  assert.match(hand.issuer, /Pebble/);
  const key = await tandemAsync(['lab', 'ssh', 'web-01', `stat -c '%a %U' ${HAPROXY_CERT}`]);
  assert.is(key.stdout.trim(), '600 root', 'the PEM with the key is 0600 root');
  assert.not.match(JSON.stringify(r.json) + r.stderr, /PRIVATE KEY/);
});

test('over HTTPS trusting Pebble: 200 from both load balancers, both web servers behind each', async () => {
  for (const address of LBS) {
    const servers = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const res = await lbGet(address, '/');
      assert.is(res.status, 200, `${address}: ${res.body.slice(0, 200)}`);
      servers.add(String(res.headers['x-app-server']));
    }
    assert.equal([...servers].sort(), HOSTS, `through ${address}`);
  }
});

test('http:// answers 301 to https://, HTTPS answers carry HSTS', async () => {
  for (const address of LBS) {
    const plain = await httpGet(`http://${address}/visits?x=1`, 3000, DOMAIN);
    assert.is(plain.status, 301);
    assert.is(plain.headers.location, `https://${DOMAIN}/visits?x=1`);
    const secure = await lbGet(address, '/');
    assert.is(secure.headers['strict-transport-security'], `max-age=${LAB.tls!.hstsMaxAgeSeconds}`);
    assert.is(plain.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
  }
});

test('a TLS 1.1 handshake is refused by the server; TLS 1.2 and 1.3 are accepted', async () => {
  for (const address of LBS) {
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      // The client offers TLS 1.0-1.1 only (its own security level lowered so that it can).
      const s = tls.connect({ host: address, port: 443, servername: DOMAIN, ca: rootCa(), minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }, () => {
        s.end();
        resolve(undefined);
      });
      s.on('error', resolve);
    });
    assert.ok(err, `${address}: a TLS 1.1 handshake succeeded`);
    assert.is(err!.code, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', `${address}: refused by the server's protocol version alert, not by the client (${err!.message})`);
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const a = await tlsHandshake(site(), address, { minVersion: version, maxVersion: version });
      assert.is(a.protocol, version);
      assert.ok(a.authorized);
    }
  }
});

test('HTTP/2 is negotiated (ALPN h2) and answers; the TLS handshake time through a load balancer', async () => {
  for (const address of LBS) {
    const status = await new Promise<number>((resolve, reject) => {
      const client = http2.connect(`https://${address}`, { servername: DOMAIN, ca: rootCa() });
      client.on('error', reject);
      const req = client.request({ ':path': '/healthz', ':authority': DOMAIN });
      req.on('response', (h) => {
        assert.is(client.alpnProtocol, 'h2');
        resolve(Number(h[':status']));
        client.close();
      });
      req.on('error', reject);
      req.end();
    });
    assert.is(status, 200);
  }
  const times: number[] = [];
  for (let i = 0; i < 20; i++) times.push((await tlsHandshake(site(), LBS[i % 2]!)).handshakeMs);
  times.sort((a, b) => a - b);
  console.log(`    TLS handshake through a load balancer (TCP connect + TLS 1.3, ECDSA P-256): median ${times[10]!.toFixed(1)} ms, max ${times[19]!.toFixed(1)} ms over 20`);
});

test('renew_before larger than the time left: apply renews on both load balancers under HTTPS load, 0 failed requests; the next apply changes nothing', async () => {
  const before = await served();
  const due = labVariant('renew', (d) => {
    d.tls.acme.renew_before = 100_000;
  });
  const plan = tandemJson(['plan', '-i', due]);
  for (const h of HOSTS) {
    const op = plan.json.hosts[h].ops.find((o: any) => o.op === CERT_OP);
    assert.match(op.summary, new RegExp(`^certificate for ${DOMAIN.replace(/\./g, '\\.')}: renew \\(expires \\d{4}-\\d{2}-\\d{2}\\)$`));
  }
  const load = startLoad(LBS, { ratePerSecond: 80 });
  const r = await tandemAsync(['apply', '-i', due, '--json']);
  const l = await load.stop();
  assert.is(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout);
  for (const h of HOSTS) {
    assert.is(report.hosts[h].ops.find((o: any) => o.op === CERT_OP).status, 'changed');
    assert.ok(report.hosts[h].handlers.some((x: any) => x.handler === 'reload haproxy' && x.status === 'changed'), `${h}: HAProxy reloaded`);
  }
  const after = await served();
  assert.is(after[0], after[1], 'both serve the same new certificate');
  assert.is.not(after[0], before[0], 'HAProxy serves the new certificate');
  console.log(`    renewal: apply ${r.ms} ms; load ${steadyLoad(l, MIN_REQUESTS)}`);
  const again = tandemJson(['apply']);
  assert.is(again.code, 0, again.stderr);
  assert.is(again.json.summary.changed, 0, JSON.stringify(again.json.hosts, null, 1).slice(0, 2000));
});

test('replication runs over TLS: the replica checks the primary\'s certificate against tandem\'s CA, and its connection shows a cipher', async () => {
  const status = onHostOk('web-02', "mariadb -e 'SHOW SLAVE STATUS\\G'");
  assert.match(status, /Slave_IO_Running: Yes/);
  assert.match(status, /Master_SSL_Allowed: Yes/);
  assert.match(status, /Master_SSL_CA_File: \/etc\/tandem\/tls\/db-ca\.pem/);
  assert.match(status, /Master_SSL_Verify_Server_Cert: Yes/);
  const r = tandemJson(['verify']);
  const check = r.json.checks.find((c: any) => c.host === 'web-02' && c.check.startsWith('replication uses TLS'));
  assert.ok(check?.ok, JSON.stringify(check));
  assert.match(check.figure, /^TLSv1\.[23] \S+/);
  console.log(`    replication link: ${check.figure}`);
});

test('the app account used from another host is refused without TLS, and accepted with it', async () => {
  const password = String(parse(readFileSync(LAB.secretsFile, 'utf8')).db_app_password);
  const primary = addressOf('web-01');
  const login = (flags: string) => onHost('web-02', `MYSQL_PWD=${shellQuote(password)} mariadb ${flags} -h ${primary} -u ${LAB.db.user} -N -B -e "SHOW SESSION STATUS LIKE 'Ssl_cipher'"`);
  const plain = login('--skip-ssl');
  assert.is(plain.code, 1, plain.stdout);
  assert.match(plain.stderr, /Access denied for user/);
  const secure = login('--ssl-ca=/etc/tandem/tls/db-ca.pem --ssl-verify-server-cert');
  assert.is(secure.code, 0, secure.stderr);
  assert.match(secure.stdout, /Ssl_cipher\t\S+/);
});

test('status shows the certificate each load balancer serves: names, issuer, expiry', () => {
  const st = tandemJson(['status']);
  for (const h of HOSTS) {
    const c = st.json.servers[h].certificate;
    assert.equal(c.names, [DOMAIN], h);
    assert.match(c.issuer, /Pebble/);
    assert.ok(Date.parse(c.notAfter) > Date.now() + 14 * 86_400_000, `${h}: ${c.notAfter}`);
  }
  assert.match(tandem(['status']).stdout, new RegExp(`^web-01 certificate: ${DOMAIN.replace(/\./g, '\\.')}, issued by .*Pebble.*, expires \\d{4}-\\d{2}-\\d{2}$`, 'm'));
});

test('verify checks HTTPS on every load balancer', () => {
  const r = tandemJson(['verify']);
  const failed = r.json.checks.filter((c: any) => !c.ok);
  assert.equal(failed, [], JSON.stringify(failed));
  for (const h of HOSTS) {
    assert.ok(r.json.checks.some((c: any) => c.host === h && c.check.startsWith('HTTPS for the domain')), `${h}: the handshake check`);
    assert.ok(r.json.checks.some((c: any) => c.host === h && c.check.startsWith('plain HTTP redirects')), `${h}: the redirect check`);
  }
});

test.run();
