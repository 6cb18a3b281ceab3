// Issue 8 (deadlines) on real lab servers: a remote command that hangs fails its host within
// the deadline, killed on the server too; the other host completes its own work; once the
// cause is gone, a re-run converges and verify passes.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { LAB, onHost, onHostOk, tandemJson } from './tandem.ts';
import { resetHosts, sshOk, until } from './harness.ts';
import { handOffStack } from './shared-stack.ts';

/**
 * Every command's deadline: long enough for web-01's longest (its one apt install of every
 * package: 18-33 s in CI), far shorter than the hang. web-01 waits for web-02 until it fails, so
 * this is most of the test's time.
 */
const DEADLINE = 90;
const HOOK = '/etc/apt/apt.conf.d/99hang';

test.before(async () => {
  await resetHosts(['web-01', 'web-02']);
});

test('apt hanging on web-02: that host fails with "no answer in N s", the hung process is killed, web-01 completes', async () => {
  // What a dead mirror or a stuck hook looks like: `apt-get update` never returns.
  assert.is(onHost('web-02', `echo 'APT::Update::Pre-Invoke {"sleep 3600";};' > ${HOOK}`).code, 0);

  const r = tandemJson(['apply', '--timeout', String(DEADLINE)]);
  assert.is(r.code, 1, r.stderr);
  const web02 = r.json.hosts['web-02'];
  assert.match(web02.error, new RegExp(`^web-02: packages ca-certificates curl [a-z -]+: no answer in ${DEADLINE} s from \`with services held \\(/usr/sbin/policy-rc.d\\): env DEBIAN_FRONTEND=noninteractive .*apt-get .*update.*\`$`));
  const hung = web02.ops.find((o: any) => o.status === 'failed');
  console.log(`    web-02 failed its apt op after ${(hung.durationMs / 1000).toFixed(1)} s (deadline ${DEADLINE} s); apply took ${(r.ms / 1000).toFixed(1)} s`);
  assert.equal(
    web02.ops.map((o: any) => o.phase).filter((p: string) => p !== 'check' && p !== 'base'),
    [],
    'web-02 stopped at the phase that failed',
  );

  // web-01 went through every phase of its own.
  const web01 = r.json.hosts['web-01'];
  if (LAB.tls?.source.kind === 'acme') {
    // All web-01 cannot do alone: a certificate, which the CA validates through whichever load
    // balancer DNS names, and web-02's has not been set up. It says so and keeps its placeholder.
    assert.is(web01.failed, 1, JSON.stringify(web01.error));
    assert.match(web01.error, /^web-01: certificate \/etc\/haproxy\/tls\/site\.pem: web-02 does not serve the ACME challenge: (it failed earlier in this run|it failed while tandem waited for it to answer|no answer with the token on :80 )/);
  } else {
    assert.is(web01.failed, 0, JSON.stringify(web01.error));
  }
  // replication: the primary's own step there (it takes writes once its server is configured).
  assert.equal([...new Set(web01.ops.map((o: any) => o.phase))], ['check', 'base', 'db', 'replication', 'app', 'web', 'lb']);
  assert.is(onHostOk('web-01', 'systemctl is-active mariadb tandem-app nginx haproxy'), 'active\nactive\nactive\nactive\n');
  assert.match(onHostOk('web-01', "mysql -N -B -e 'SHOW DATABASES'"), /^app$/m);
  assert.match(onHostOk('web-01', 'curl -sS http://127.0.0.1:8080/healthz'), /"status":"ok"/);

  // The server side was stopped as well: nothing of the hung update is left running on web-02.
  let left = '';
  await until('the hung apt-get and its hook to be killed on web-02', async () => {
    left = (await sshOk('web-02', "pgrep -a -f '[s]leep 3600|[a]pt-get' || true")).trim();
    return left === '' || undefined;
  }, { timeoutMs: 10_000, seen: () => left });
});

test('with the hang gone, a re-run of apply converges both hosts and verify passes', async () => {
  assert.is(onHost('web-02', `rm -f ${HOOK}`).code, 0);
  const r = tandemJson(['apply']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.summary.failed, 0);
  assert.ok(r.json.hosts['web-02'].ops.some((o: any) => o.op === 'mysql replication from web-01' && o.status === 'changed'), 'the replica was set up this time');
  const again = tandemJson(['apply']);
  assert.is(again.json.summary.changed, 0, 'and a second run changes nothing');
  const v = tandemJson(['verify']);
  const failed = v.json.checks.filter((c: any) => !c.ok);
  assert.equal(failed, [], JSON.stringify(failed));
  assert.is(v.code, 0);
  await handOffStack();
});

test.run();
