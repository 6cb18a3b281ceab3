// Issue 9's fresh provision on real lab servers, Debian 13 and Debian 12: one apt transaction per
// host for every recipe's packages, and no service serving on its package defaults. What a user
// would check after a fresh apply: the report has one install op per host, apt's own history one
// Install entry, each service's first start (in its journal) came after tandem wrote its config
// and was its only start, MariaDB's data directory was initialised, HAProxy owns :80, verify
// passes. And a hold left by an install that was killed is found and removed; another tool's is not.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { LAB, onHost, onHostOk, tandem, tandemJson, LAB_INVENTORY } from './tandem.ts';
import { HAPROXY_CERT } from '../../src/stack/names.ts';
import { labVariant } from './variants.ts';
import { POLICY_RC, POLICY_RC_MARK } from '../../src/ops/packages.ts';

const HOSTS = ['web-01', 'web-02'];
const BOOKWORM = labVariant('bookworm', (d) => {
  d.lab = { ...d.lab, release: 'bookworm' };
});
const RELEASES = [
  { name: 'Debian 13', inventory: LAB_INVENTORY, release: 'trixie' },
  { name: 'Debian 12', inventory: BOOKWORM, release: 'bookworm' },
];

/** Each service, the config file tandem writes for it. */
const SERVICES = [
  { unit: 'mariadb', config: '/etc/mysql/mariadb.conf.d/60-tandem.cnf' },
  { unit: 'nginx', config: '/etc/nginx/sites-enabled/tandem.conf' },
  { unit: 'haproxy', config: '/etc/haproxy/haproxy.cfg' },
  { unit: 'tandem-app', config: '/etc/tandem/app.env' },
];

const installEntries = (host: string) => Number(onHostOk(host, `grep -c '^Install:' /var/log/apt/history.log || true`).trim());

/**
 * When systemd began each start of a unit and each reload, as unix times with microseconds: its
 * "Starting" lines (a Type=simple unit such as the app logs only "Started", at the fork).
 */
function journal(host: string, unit: string): { starts: number[]; reloads: number[] } {
  const lines = onHostOk(host, `journalctl -u ${unit}.service -o short-unix --no-pager -q`).split('\n');
  const at = (word: string) => lines.filter((l) => / systemd\[1\]: /.test(l) && l.includes(`: ${word} ${unit}.service`)).map((l) => Number(l.split(' ')[0]));
  const starting = at('Starting');
  return { starts: starting.length ? starting : at('Started'), reloads: at('Reloading') };
}

for (const r of RELEASES) {
  test(`${r.name}: a fresh apply installs each host's packages in one apt transaction, and each service first starts on tandem's checked config`, () => {
    const reset = tandem(['lab', 'reset', '-i', r.inventory]);
    assert.is(reset.code, 0, reset.stdout + reset.stderr);
    for (const h of HOSTS) assert.match(onHostOk(h, '. /etc/os-release; echo $VERSION_CODENAME'), new RegExp(`^${r.release}$`, 'm'));
    const before = Object.fromEntries(HOSTS.map((h) => [h, installEntries(h)]));

    const run = tandemJson(['apply', '-i', r.inventory]);
    assert.is(run.code, 0, run.stderr);
    console.log(`    ${r.name}: fresh apply ${run.ms} ms wall`);
    for (const h of HOSTS) {
      const ops = run.json.hosts[h].ops as { op: string; status: string; durationMs: number }[];
      const installs = ops.filter((o) => o.op.startsWith('packages '));
      assert.is(installs.length, 1, `${h}: one install op (${ops.map((o) => o.op).join(' | ')})`);
      assert.is(installs[0]!.status, 'changed');
      for (const p of ['mariadb-server', 'nginx', 'haproxy', 'nodejs', 'curl']) assert.ok(installs[0]!.op.split(' ').includes(p), `${h}: ${p} in ${installs[0]!.op}`);
      assert.equal(ops.filter((o) => o.op.startsWith('apt ')), [], `${h}: no recipe installs on its own`);
      console.log(`    ${h}: install ${installs[0]!.durationMs} ms`);

      // apt's own record: one Install entry from this run, no hold left behind.
      assert.is(installEntries(h) - before[h]!, 1, `${h}: one Install entry in /var/log/apt/history.log`);
      assert.is(onHost(h, `test -e ${POLICY_RC}`).code, 1, `${h}: ${POLICY_RC} removed after the install`);

      for (const s of SERVICES) {
        const written = Number(onHostOk(h, `stat -c %.6Y ${s.config}`).trim());
        const { starts, reloads } = journal(h, s.unit);
        assert.ok(starts.length > 0, `${h}: ${s.unit} never started`);
        assert.ok(starts[0]! > written, `${h}: ${s.unit} first started at ${starts[0]}, before tandem wrote ${s.config} at ${written}`);
        // Started once, with its final config: no restart nor reload was left for the handler.
        assert.is(starts.length, 1, `${h}: ${s.unit} started ${starts.length} times`);
        if (s.unit === 'haproxy' && LAB.tls?.source.kind === 'acme') {
          // HAProxy must serve :80 for the CA to validate the domain, so it starts on a placeholder
          // certificate; the one reload is the issued certificate's, after it was written.
          const certWritten = Number(onHostOk(h, `stat -c %.6Y ${HAPROXY_CERT}`).trim());
          assert.is(reloads.length, 1, `${h}: haproxy reloaded ${reloads.length} times`);
          assert.ok(reloads[0]! > certWritten, `${h}: haproxy reloaded at ${reloads[0]}, before the certificate was written at ${certWritten}`);
        } else {
          assert.equal(reloads, [], `${h}: ${s.unit} reloaded`);
        }
      }
      // MariaDB's postinst initialised the data directory although the server was not started.
      assert.is(onHostOk(h, 'test -d /var/lib/mysql/mysql && mariadb -N -B -e "SELECT 1"').trim(), '1');
      // :80 is HAProxy's; Nginx listens only where tandem's site says.
      assert.match(onHostOk(h, "ss -Hltnp 'sport = :80'"), /haproxy/);
      assert.not.match(onHostOk(h, "ss -Hltnp 'sport = :80'"), /nginx/);
      assert.match(onHostOk(h, "ss -Hltnp 'sport = :8080'"), /nginx/);
    }
    const v = tandemJson(['verify', '-i', r.inventory]);
    const failed = v.json.checks.filter((c: any) => !c.ok);
    assert.equal(failed, [], JSON.stringify(failed));

    const again = tandemJson(['apply', '-i', r.inventory]);
    assert.is(again.code, 0, again.stderr);
    assert.is(again.json.summary.changed, 0, 'a second apply changes nothing');
  });
}

test("a hold left by a killed install is removed by the next apply; another tool's policy-rc.d is left alone", () => {
  // The servers run Debian 12 from the test above, the stack complete.
  const ours = `#!/bin/sh\n${POLICY_RC_MARK}; removed when the install ends.\nexit 101\n`;
  const foreign = '#!/bin/sh\n# the image maker\'s\nexit 101\n';
  assert.is(onHost('web-01', `printf '%s' '${ours}' > ${POLICY_RC} && chmod 755 ${POLICY_RC}`).code, 0);
  assert.is(onHost('web-02', `printf '%s' "${foreign}" > ${POLICY_RC} && chmod 755 ${POLICY_RC}`).code, 0);
  const plan = tandemJson(['plan', '-i', BOOKWORM]);
  assert.is(plan.code, 2, plan.stderr);
  const changed = (h: string) => plan.json.hosts[h].ops.filter((o: any) => o.status !== 'ok').map((o: any) => o.summary);
  assert.equal(changed('web-01'), [`remove ${POLICY_RC} left by an install that was interrupted (it keeps every service from starting)`]);
  assert.equal(changed('web-02'), []);
  const r = tandemJson(['apply', '-i', BOOKWORM]);
  assert.is(r.code, 0, r.stderr);
  assert.is(onHost('web-01', `test -e ${POLICY_RC}`).code, 1, 'ours removed');
  assert.is(onHostOk('web-02', `cat ${POLICY_RC}`), foreign, "the other tool's left as it was");
  assert.is(onHost('web-02', `rm -f ${POLICY_RC}`).code, 0);
});

test.run();
