// Platforms on real servers. A server on a release tandem does not know, and a replica older than
// its primary, are refused before anything changes on any server. A fleet in the middle of an
// upgrade, the primary still on Debian 12 (MariaDB 10.11) and the replica already on Debian 13
// (MariaDB 11.8), the direction upgrades take: one apply builds the stack, verify passes with
// replication, a second apply changes nothing.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { onHost, onHostOk, tandem, tandemJson } from './tandem.ts';
import { labVariant } from './variants.ts';

const releases = (primary: string, replica: string) => (d: Record<string, any>) => {
  d.lab = { ...d.lab, hosts: { 'web-01': { release: primary }, 'web-02': { release: replica } } };
};
const UPGRADING = labVariant('upgrading', releases('bookworm', 'trixie'));
const BACKWARDS = labVariant('backwards', releases('trixie', 'bookworm'));

function resetTo(inventory: string): void {
  const r = tandem(['lab', 'reset', '-i', inventory]);
  assert.is(r.code, 0, r.stdout + r.stderr);
}

const sql = (host: string, query: string) => onHostOk(host, `mariadb -N -B -e "${query}"`).trim();

const untouched = (h: string) => assert.is(onHost(h, 'test -e /etc/tandem || dpkg-query -W mariadb-server').code, 1, `${h}: untouched`);

test('a server on a release tandem does not know stops the run before anything changes on any server', () => {
  resetTo(BACKWARDS);
  const forky = 'PRETTY_NAME="Debian GNU/Linux forky/sid"\nNAME="Debian GNU/Linux"\nVERSION_CODENAME=forky\nID=debian\n';
  assert.is(onHost('web-02', `printf '${forky}' > /etc/os-release`).code, 0);
  const r = tandemJson(['apply', '-i', BACKWARDS]);
  assert.is(r.code, 1);
  assert.match(r.json.hosts['web-02'].error, /platform: this server runs Debian GNU\/Linux forky\/sid; tandem knows Debian 13 \(trixie\) and Debian 12 \(bookworm\)/);
  assert.equal(r.json.summary, { ok: 1, changed: 0, failed: 1 });
  for (const h of ['web-01', 'web-02']) untouched(h);
});

test('a replica older than its primary (11.8 -> 10.11) is refused before anything changes on any server', () => {
  resetTo(BACKWARDS);
  const r = tandemJson(['apply', '-i', BACKWARDS]);
  assert.is(r.code, 1);
  assert.match(
    r.json.hosts['web-02'].error,
    /platform: this replica would run MariaDB 10\.11 and its primary web-01 runs MariaDB 11\.8: a replica must run the same or a newer MariaDB/,
  );
  assert.equal(r.json.summary, { ok: 1, changed: 0, failed: 1 });
  for (const h of ['web-01', 'web-02']) untouched(h);
});

test('primary on Debian 12, replica on Debian 13: one apply, and verify passes with replication', () => {
  resetTo(UPGRADING);
  const status = tandem(['lab', 'status', '-i', UPGRADING]);
  assert.match(status.stdout, /^web-01\s+\S+\s+Debian GNU\/Linux 12 \(bookworm\)/m);
  assert.match(status.stdout, /^web-02\s+\S+\s+Debian GNU\/Linux 13 \(trixie\)/m);
  const r = tandemJson(['apply', '-i', UPGRADING]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.summary.failed, 0);
  console.log(`    fresh apply, primary on Debian 12, replica on Debian 13: ${r.ms} ms wall, ${r.json.summary.changed} changes`);
  assert.match(sql('web-01', 'SELECT VERSION()'), /^10\.11\./);
  assert.match(sql('web-02', 'SELECT VERSION()'), /^11\.8\./);
  const v = tandemJson(['verify', '-i', UPGRADING]);
  const failed = v.json.checks.filter((c: any) => !c.ok);
  assert.equal(failed, [], JSON.stringify(failed));
  const canary = v.json.checks.find((c: any) => c.check.startsWith('a canary row'));
  assert.is(canary.host, 'web-02');
  // 10.11 serves TLS with its certificate from tandem's CA, which the 11.8 replica checks.
  const replica = onHostOk('web-02', "mariadb -e 'SHOW SLAVE STATUS\\G'");
  assert.match(replica, /Master_SSL_Allowed: Yes/);
  assert.match(replica, /Master_SSL_Verify_Server_Cert: Yes/);
});

test('the mixed fleet: a second apply changes nothing, in one batch of facts per server', () => {
  const r = tandemJson(['apply', '-i', UPGRADING]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.summary.changed, 0);
  for (const h of ['web-01', 'web-02']) assert.ok(r.json.roundTrips[h] <= 2, `${h}: ${r.json.roundTrips[h]} remote commands`);
  console.log(`    no-op apply of the mixed fleet: ${r.ms} ms wall, remote commands ${JSON.stringify(r.json.roundTrips)}`);
});

test.run();
