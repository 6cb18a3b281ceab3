// HTTPS and server TLS, the pure parts: the certificate op's decisions and words, the tls:
// section's errors, HAProxy's TLS configuration, the lab's Pebble settings, the database
// servers' certificates, accounts that require TLS and replication checked against tandem's CA.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { certificate, certificateReason, type CertificateWant } from '../../src/ops/certificate.ts';
import type { CertificateState } from '../../src/facts/certificate.ts';
import { parseCertificate } from '../../src/facts/certificate.ts';
import { parseYaml, toInventory } from '../../src/inventory/load.ts';
import { CertificateError, InventoryError, InputError } from '../../src/errors.ts';
import { renderTemplate } from '../../src/ops/template.ts';
import { pebbleCommands, pebbleConfig, pebbleFiles } from '../../src/lab/pebble.ts';
import { issueServerCert, newCaPem, parseCa } from '../../src/tls/private-ca.ts';
import { serverCertReason } from '../../src/ops/server-cert.ts';
import { planAccount } from '../../src/ops/mysql/ops.ts';
import { planReplication } from '../../src/ops/mysql/replication.ts';
import { mariadb } from '../../src/ops/mysql/dialect.ts';
import { Secret } from '../../src/secrets/secret.ts';
import { filesPem } from '../../src/tls/supply.ts';
import { acmeIssuer } from '../../src/tls/issuer.ts';
import { commonJsExports } from '../../src/commonjs.ts';
import { judgeHandshake } from '../../src/verify/tls.ts';
import type { Command, FactValues } from '../../src/engine/types.ts';
import type { LabConfig } from '../../src/lab/config.ts';

const DOMAIN = 'www.example.com';
const NOW = new Date('2026-12-01T00:00:00Z');
const ACME: CertificateWant = { kind: 'acme', renewBeforeDays: 30 };
const cert = (o: Partial<CertificateState> = {}): CertificateState => ({
  present: true,
  names: [DOMAIN],
  notAfter: '2027-06-01T00:00:00.000Z',
  issuer: 'CN=Pebble Intermediate CA',
  fingerprint: 'AA',
  selfSigned: false,
  ...o,
});

const cases: { name: string; want?: CertificateWant; have: CertificateState; peers?: [string, CertificateState | undefined][]; reason: string | undefined }[] = [
  { name: 'none yet', have: { present: false, names: [] }, reason: 'issue' },
  { name: 'the self-signed placeholder', have: cert({ selfSigned: true }), reason: 'issue' },
  { name: 'for another name', have: cert({ names: ['old.example.com'] }), reason: 'issue (serving one for old.example.com)' },
  { name: 'due: 10 days left, renew_before 30', have: cert({ notAfter: '2026-12-11T00:00:00.000Z' }), reason: 'renew (expires 2026-12-11)' },
  { name: 'good, and the same on the other lb', have: cert(), peers: [['web-02', cert()]], reason: undefined },
  { name: 'good, the other lb not read (--limit)', have: cert(), peers: [['web-02', undefined]], reason: undefined },
  { name: 'the other lb is due', have: cert(), peers: [['web-02', cert({ present: false, names: [] })]], reason: 'renew with web-02, whose certificate is due (this one expires 2027-06-01)' },
  { name: 'the other lb serves another', have: cert(), peers: [['web-02', cert({ fingerprint: 'BB' })]], reason: 'replace: web-02 serves another certificate (every load balancer serves the same one)' },
  { name: 'files: the same certificate', want: { kind: 'files', fingerprint: 'AA' }, have: cert(), reason: undefined },
  { name: 'files: another certificate', want: { kind: 'files', fingerprint: 'CC' }, have: cert(), reason: `replace with tls.files (serving one for ${DOMAIN}, expires 2027-06-01)` },
  { name: 'files: the placeholder', want: { kind: 'files', fingerprint: 'CC' }, have: cert({ selfSigned: true }), reason: 'install from tls.files' },
];

for (const c of cases) {
  test(`certificate: ${c.name} -> ${c.reason ?? 'nothing'}`, () => {
    assert.is(certificateReason({ domain: DOMAIN, want: c.want ?? ACME, now: NOW }, c.have, c.peers ?? []), c.reason);
  });
}

const values = (map: Record<string, unknown>): FactValues => ({ get: <T>(f: { id: string }) => map[f.id] as T });

test('the certificate op says what it does in words, writes the PEM 0600 when the write runs, and shows no diff', async () => {
  let asked = 0;
  const op = certificate({ domain: DOMAIN, path: '/etc/haproxy/tls/site.pem', want: { kind: 'acme', renewBeforeDays: 60 }, now: NOW, peers: [], content: async () => (asked++, new Secret('PEM')), notify: ['reload haproxy'] });
  const change = op.plan(values({ 'certificate:/etc/haproxy/tls/site.pem': cert({ notAfter: '2027-01-03T00:00:00.000Z' }) }))!;
  assert.is(change.summary, `certificate for ${DOMAIN}: renew (expires 2027-01-03)`);
  assert.is(change.diff, undefined);
  const put = change.commands[0] as Extract<Command, { kind: 'put' }>;
  assert.equal([put.kind, put.path, put.mode, put.owner, put.backup], ['put', '/etc/haproxy/tls/site.pem', '0600', 'root', true]);
  assert.is(asked, 0, 'planning asks the CA nothing');
  assert.ok(typeof put.content === 'function');
  assert.is(String(await (put.content as () => Promise<unknown>)()), '********');
  assert.is(op.plan(values({ 'certificate:/etc/haproxy/tls/site.pem': cert({ notAfter: '2027-06-01T00:00:00.000Z' }) })), null);
});

test('the certificate fact reads the leaf of a PEM file (a key beside it is ignored), and nothing from an empty one', async () => {
  const ca = parseCa(await newCaPem('test CA', NOW), 'ca');
  const leaf = await issueServerCert(ca, { name: 'db-1', address: '10.0.0.5' }, NOW);
  const read = parseCertificate(`${leaf.certPem}${ca.certPem}`, 0);
  assert.equal([read.present, read.names, read.ips, read.selfSigned], [true, ['db-1'], ['10.0.0.5'], false]);
  assert.is(read.notAfter!.slice(0, 10), '2029-03-05', '825 days');
  assert.equal(parseCertificate('', 1), { present: false, names: [] });
  assert.equal(parseCertificate('-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n', 0), { present: false, names: [] });
});

const HEAD = `name: foobar
domain: www.foobar.com
ssh: { user: root, key: keys/id_test }
hosts:
  web-01: { address: 10.0.0.11, roles: [lb, web, app, db-primary] }
`;
const refused = (tls: string): string[] => {
  try {
    parseYaml(HEAD + tls, 'inv.yml');
  } catch (err) {
    assert.instance(err, InventoryError);
    return (err as InventoryError).problems;
  }
  assert.unreachable('accepted');
  return [];
};

test('tls: errors name the field', () => {
  assert.equal(refused('tls: {}\n'), ['inv.yml: tls: needs exactly one of acme (a certificate from an ACME CA) or files (a certificate and key you have)']);
  assert.equal(refused('tls: { acme: { directory: https://a.test/dir, email: a@b.test }, files: { cert: c.pem, key: k.pem } }\n'), [
    'inv.yml: tls: needs exactly one of acme (a certificate from an ACME CA) or files (a certificate and key you have)',
  ]);
  assert.equal(refused('tls: { acme: { directory: http://a.test/dir, email: a@b.test } }\n'), [
    'inv.yml: tls.acme.directory: must be the https:// URL of an ACME directory, such as https://acme-v02.api.letsencrypt.org/directory',
  ]);
  assert.equal(refused('tls: { acme: { directory: https://a.test/dir } }\n'), ['inv.yml: tls.acme.email: is required']);
  assert.equal(refused('tls: { acme: { directory: https://a.test/dir, email: a@b.test, renew_before: 0 } }\n'), ['inv.yml: tls.acme.renew_before: must be at least 1 day']);
  assert.equal(refused('tls: { files: { cert: c.pem, key: k.pem }, hsts: 1 }\n'), ['inv.yml: tls: unknown field "hsts"']);
});

test('tls: defaults, and paths resolved beside the inventory', () => {
  const raw = parseYaml(HEAD + 'tls: { acme: { directory: https://a.test/dir, email: a@b.test, ca_bundle: pebble.pem }, ca: root.pem }\n', 'inv.yml');
  const inv = toInventory(raw, '/srv/inv/inv.yml', 'inv.yml');
  assert.equal(inv.tls, {
    source: { kind: 'acme', directory: 'https://a.test/dir', email: 'a@b.test', caBundle: '/srv/inv/pebble.pem', renewBeforeDays: 30 },
    hstsMaxAgeSeconds: 31536000,
    minDaysLeft: 14,
    caFile: '/srv/inv/root.pem',
  });
  assert.is(toInventory(parseYaml(HEAD, 'inv.yml'), '/srv/inv/inv.yml', 'inv.yml').tls, undefined);
});

const haproxyVars = (tls: unknown) => ({ algorithm: 'roundrobin', port: 80, servers: [{ name: 'web-01', address: '10.0.0.11', port: 8080 }], tls, metrics: undefined });

test('HAProxy with tls: :443 with h2 and http/1.1, TLS 1.2+ with the intermediate ciphers, the redirect that spares ACME, HSTS, the scheme', () => {
  const text = renderTemplate('haproxy/haproxy.cfg.ejs', haproxyVars({ cert: '/etc/haproxy/tls/site.pem', hstsMaxAge: 600, challengePath: '/.well-known/acme-challenge/', port: 443 }));
  for (const line of [
    '    bind *:443 ssl crt /etc/haproxy/tls/site.pem alpn h2,http/1.1',
    '    ssl-default-bind-options prefer-client-ciphers ssl-min-ver TLSv1.2 no-tls-tickets',
    '    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
    '    http-request redirect scheme https code 301 if !{ ssl_fc } !{ path_beg /.well-known/acme-challenge/ }',
    '    http-request set-header X-Forwarded-Proto https if { ssl_fc }',
    '    http-after-response set-header Strict-Transport-Security max-age=600 if { ssl_fc }',
  ]) {
    assert.ok(text.split('\n').includes(line), `has: ${line}`);
  }
  assert.match(text, /ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:/);
  assert.not.match(text, /TLSv1\.1|[ :]DHE-/);
});

test('HAProxy without tls: plain HTTP on :80 as before, nothing about TLS', () => {
  const text = renderTemplate('haproxy/haproxy.cfg.ejs', haproxyVars(undefined));
  assert.not.match(text, /ssl|443|Strict-Transport|redirect/);
  assert.match(text, /^ {4}bind \*:80$/m);
});

const LAB = { stateDir: '/work/lab/.lab', gateway: '10.78.0.1/24' } as LabConfig;

test('Pebble: on the lab gateway only, validating on the servers :80, resolving through challtestsrv, without its practice sleeps, nonce refusals and random reuse of authorizations', () => {
  const files = pebbleFiles(LAB);
  const config = JSON.parse(pebbleConfig('10.78.0.1', files)).pebble;
  assert.equal([config.listenAddress, config.managementListenAddress, config.httpPort, config.certificate], ['10.78.0.1:14000', '10.78.0.1:15000', 80, '/work/lab/.lab/pebble/directory-ca.pem']);
  const cmds = pebbleCommands('10.78.0.1', files);
  assert.equal(cmds.pebble.argv, ['pebble', '-config', '/work/lab/.lab/pebble/pebble.json', '-dnsserver', '10.78.0.1:8053']);
  assert.equal(cmds.pebble.env, { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' });
  assert.ok(cmds.challtestsrv.argv.includes('10.78.0.1:8053') && cmds.challtestsrv.argv.includes('10.78.0.1:8055'));
  // Its HTTP-01/TLS-ALPN responders stay off: the servers answer the challenges themselves.
  for (const flag of ['-http01', '-https01', '-tlsalpn01']) assert.is(cmds.challtestsrv.argv[cmds.challtestsrv.argv.indexOf(flag) + 1], '');
});

test('a database server certificate from tandem CA: issue, replace (other CA, other names), renew, keep', async () => {
  const ca = parseCa(await newCaPem('tandem test CA', NOW), 'ca');
  const other = parseCa(await newCaPem('someone else', NOW), 'other');
  const server = { name: 'db-1', address: '10.0.0.5' };
  const mine = parseCertificate((await issueServerCert(ca, server, NOW)).certPem, 0);
  const args = { server, caPem: ca.certPem, now: NOW };
  assert.is(serverCertReason(args, { present: false, names: [] }), 'issue');
  assert.is(serverCertReason(args, mine), undefined);
  assert.match(serverCertReason(args, parseCertificate((await issueServerCert(other, server, NOW)).certPem, 0))!, /^replace \(not signed by tandem's CA/);
  assert.is(serverCertReason(args, parseCertificate((await issueServerCert(ca, { name: 'db-1', address: '10.0.0.6' }, NOW)).certPem, 0)), 'replace (for db-1, 10.0.0.6, not db-1, 10.0.0.5)');
  assert.is(serverCertReason({ ...args, now: new Date('2029-02-20T00:00:00Z') }, mine), 'renew (expires 2029-03-05)');
});

const account = { user: 'app', host: '10.0.0.12', password: new Secret('p'.repeat(16)), grants: [], dialect: mariadb };
const sqlOf = (c: Command) => String((c as Extract<Command, { kind: 'script' }>).stdin instanceof Secret ? ((c as any).stdin as Secret).reveal() : (c as any).stdin);

test('an account used from another host: created with REQUIRE SSL; an existing one is made to require TLS outside the binary log; one that does is left alone', () => {
  const create = planAccount({ ...account, requireSsl: true }, { exists: false, plugin: '', auth: Buffer.alloc(0), grants: [] })!;
  assert.match(sqlOf(create.commands[0]!), /CREATE USER IF NOT EXISTS 'app'@'10\.0\.0\.12' IDENTIFIED BY PASSWORD '\*[0-9A-F]{40}' REQUIRE SSL;/);
  assert.is(create.summary, 'create account app@10.0.0.12 (TLS required)');
  const hash = '*' + 'A'.repeat(40);
  const existing = { exists: true, plugin: 'mysql_native_password', auth: Buffer.from(hash), grants: [], ssl: '' };
  const alter = planAccount({ ...account, requireSsl: true }, existing);
  const last = alter!.commands.at(-1)!;
  assert.match(sqlOf(last), /SET SESSION sql_log_bin = 0;\nALTER USER 'app'@'10\.0\.0\.12' REQUIRE SSL;/);
  assert.match(alter!.summary, /require TLS of app@10\.0\.0\.12$/);
});

test('replication checked against tandem CA: CHANGE MASTER names it; a replica without it is pointed again, whatever MariaDB the primary runs', () => {
  const args = { dialect: mariadb, primary: { name: 'db-1', address: '10.0.0.5', port: 3306 }, user: 'tandem_repl', password: new Secret('r'.repeat(16)), databases: ['app'], tlsCa: '/etc/tandem/tls/db-ca.pem' };
  const running = { Master_Host: '10.0.0.5', Master_User: 'tandem_repl', Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes', Master_SSL_Allowed: 'Yes', Master_SSL_CA_File: '' };
  const state = { up: true, databases: new Set(['app']), tables: new Map(), replica: running };
  const change = planReplication(args, state, undefined)!;
  assert.is(change.summary, "replicate from db-1 with TLS, its certificate checked against tandem's CA");
  assert.match(sqlOf(change.commands[0]!), /MASTER_SSL=1, MASTER_SSL_CA='\/etc\/tandem\/tls\/db-ca\.pem', MASTER_SSL_VERIFY_SERVER_CERT=1;/);
  assert.is(planReplication(args, { ...state, replica: { ...running, Master_SSL_CA_File: '/etc/tandem/tls/db-ca.pem' } }, undefined), null);
});

test('tls.files: a certificate and the key that goes with it, or an error naming the field', async () => {
  const ca = parseCa(await newCaPem('c', NOW), 'c');
  const a = await issueServerCert(ca, { name: 'www.example.com', address: '10.0.0.1' }, NOW);
  const b = await issueServerCert(ca, { name: 'www.example.com', address: '10.0.0.1' }, NOW);
  const shown = { cert: 'site.crt', key: 'site.key' };
  assert.match(filesPem(a.certPem, a.key.reveal(), shown).pem.reveal(), /END CERTIFICATE-----\n-----BEGIN PRIVATE KEY/);
  assert.throws(() => filesPem(a.certPem, b.key.reveal(), shown), (e: Error) => e instanceof InputError && e.message === 'tls.files.key: site.key is not the key of site.crt');
  assert.throws(() => filesPem('nonsense', a.key.reveal(), shown), (e: Error) => e instanceof InputError && e.message === 'tls.files.cert: site.crt is not a PEM certificate');
});

test('verify judges a handshake: trusted chain, the domain, days left, HTTP/2', () => {
  const good = { authorized: true, alpn: 'h2' as const, protocol: 'TLSv1.3', names: [DOMAIN], notAfter: '2027-01-01T00:00:00.000Z', issuer: 'CN=x', cipher: 'TLS_AES_128_GCM_SHA256', handshakeMs: 3.2 };
  assert.equal(judgeHandshake(good, DOMAIN, 14, NOW), { ok: true, figure: 'TLSv1.3, h2, expires 2027-01-01 (31 days), handshake 3 ms' });
  const bad = judgeHandshake({ ...good, authorized: false, authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', alpn: 'http/1.1', notAfter: '2026-12-05T00:00:00.000Z' }, DOMAIN, 14, NOW);
  assert.is(bad.ok, false);
  assert.is(bad.detail, 'chain not trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE; expires in 4 days (under 14); HTTP/2 not offered (ALPN chose http/1.1)');
});


test('status prints each load balancer\'s certificate: names, issuer, expiry, or that there is none', async () => {
  const { renderStatus } = await import('../../src/cli/status.ts');
  const st = {
    servers: {
      'web-01': { roles: ['lb'], certificate: { names: [DOMAIN], issuer: 'CN=Pebble Intermediate CA 1a2b3c', notAfter: '2031-11-30T13:18:00.000Z' } },
      'web-02': { roles: ['lb'], certificate: 'none' as const },
    },
    loadBalancers: { 'web-01': {}, 'web-02': {} },
  };
  const lines = renderStatus(st, ['web-01', 'web-02'], ['web-01', 'web-02']).split('\n');
  assert.ok(lines.includes(`web-01 certificate: ${DOMAIN}, issued by CN=Pebble Intermediate CA 1a2b3c, expires 2031-11-30`), lines.join('\n'));
  assert.ok(lines.includes('web-02 certificate: none'));
});

test('the demo says how to trust the lab\'s CA in curl and a browser', async () => {
  const { httpsHint } = await import('../../src/cli/demo.ts');
  const text = httpsHint('www.foobar.test', '10.77.0.11', ['10.77.0.12'], '/repo/.lab/pebble/root.pem');
  assert.match(text, /open https:\/\/www\.foobar\.test\//);
  assert.match(text, /curl --cacert \/repo\/\.lab\/pebble\/root\.pem https:\/\/www\.foobar\.test\//);
  assert.match(text, /import \/repo\/\.lab\/pebble\/root\.pem as a certificate authority/);
  assert.match(text, /10\.77\.0\.11 www\.foobar\.test/);
});


test('ACME: a load balancer whose run already failed stops the order before the CA or any server is asked, naming it', async () => {
  const lb = (name: string, address: string) => ({ name, address, port: 22, roles: ['lb', 'web'] as const }) as unknown as import('../../src/inventory/types.ts').HostSpec;
  const hosts = [lb('web-01', '127.0.0.1'), lb('web-02', '127.0.0.1')];
  let connected = 0;
  const obtain = acmeIssuer({
    // A directory nobody serves: reaching it would fail with another message.
    source: { kind: 'acme', directory: 'https://127.0.0.1:1/dir', email: 'ops@example.com', renewBeforeDays: 30 } as any,
    domain: DOMAIN,
    accountKeyFile: '/nonexistent/acme-account.key',
    webHosts: hosts,
    lbHosts: hosts,
    connect: async () => {
      connected++;
      throw new Error('no server in a unit test');
    },
    redactor: { redact: (s: string) => s } as any,
    failedInRun: (h) => h === 'web-02',
  });
  const err = await obtain().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, CertificateError);
  assert.is((err as Error).message, 'web-02 does not serve the ACME challenge: it failed earlier in this run');
  assert.is(connected, 0);
});

test('commonJsExports: the exports whether Node gave them (named and default) or the bundle did (default only)', () => {
  type Exports = { Client: unknown; default?: unknown };
  const exports: Exports = { Client: class {} };
  assert.is(commonJsExports<Exports>({ default: exports } as Exports).Client, exports.Client);
  assert.is(commonJsExports<Exports>({ ...exports, default: exports }).Client, exports.Client);
  assert.is(commonJsExports<Exports>(exports).Client, exports.Client);
});

test.run();
