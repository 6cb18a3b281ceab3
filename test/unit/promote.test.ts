// `tandem promote` and `rejoin`, their pure parts as tables: GTID comparison (errant transactions,
// which replica is ahead), the inventory rewrite (only the moved roles change; comments and
// layout stay), the command builders, the primary's writable op and the fencing record.
import { spawnSync } from 'node:child_process';
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { parseDocument } from 'yaml';
import { aheadIn, checkCandidate, errantGtids, gtidText, parseGtidList } from '../../src/promote/gtid.ts';
import { moveRoles, unfence } from '../../src/promote/inventory-edit.ts';
import { becomePrimary, catchUpAndTakeWrites, clearForSeed, follow, NOT_CAUGHT_UP, pointApp, seriesOf, stopWritesScript } from '../../src/promote/commands.ts';
import { checkTarget } from '../../src/promote/checks.ts';
import { rolesAfter } from '../../src/promote/run.ts';
import { fenced, planWritable } from '../../src/ops/mysql/writable.ts';
import { mariadb } from '../../src/ops/mysql/dialect.ts';
import type { MysqlState } from '../../src/facts/mysql.ts';
import { Secret, Redactor } from '../../src/secrets/secret.ts';
import { describeCommand } from '../../src/engine/commands.ts';
import { ValidationError, InventoryError, UsageError } from '../../src/errors.ts';
import { testInventory, TWO_SERVERS } from '../fixtures/inventory.ts';
import { thrown } from '../fixtures/thrown.ts';
import { SPECIAL_PASSWORDS } from '../fixtures/special-values.ts';
// @ts-expect-error plain JavaScript without types: the app runs on the servers without a build step
import { parseEnvText } from '../../examples/app/src/app.js';
import { appDbFile } from '../../src/stack/app-db.ts';

const g = (text: string) => parseGtidList(text);

test('parseGtidList: empty is nothing, lists keep every entry, anything else is refused naming it', () => {
  assert.equal(g(''), []);
  assert.equal(g('NULL'), []);
  assert.equal(g('0-1-5,1-2-7'), [{ domain: 0, server: 1, seq: 5 }, { domain: 1, server: 2, seq: 7 }]);
  assert.is(g('0-173080587-22').map(gtidText).join(','), '0-173080587-22');
  assert.match(thrown(() => g('0-1-x'), Error).message, /not a MariaDB GTID list: "0-1-x"/);
});

const ERRANT: { name: string; mine: string; theirs: string; errant: string }[] = [
  { name: 'the same history', mine: '0-1-10', theirs: '0-1-10', errant: '' },
  { name: 'the new primary wrote on after it', mine: '0-1-10', theirs: '0-1-10,0-2-15', errant: '' },
  { name: 'a transaction the new primary never got (committed at the crash, not acknowledged)', mine: '0-1-12', theirs: '0-1-10,0-2-15', errant: '0-1-12' },
  { name: 'a server the other never heard of', mine: '0-1-10,0-3-4', theirs: '0-1-10,0-2-15', errant: '0-3-4' },
  { name: 'another domain', mine: '0-1-10,1-1-3', theirs: '0-1-10', errant: '1-1-3' },
  { name: 'nothing logged', mine: '', theirs: '0-2-15', errant: '' },
];
for (const c of ERRANT) {
  test(`errantGtids: ${c.name}`, () => {
    assert.is(errantGtids(g(c.mine), g(c.theirs)).map(gtidText).join(','), c.errant);
  });
}

test('aheadIn: per domain, the highest sequence number wins', () => {
  assert.equal(aheadIn(g('0-1-12'), g('0-1-10')), [{ domain: 0, seq: 12, otherSeq: 10 }]);
  assert.equal(aheadIn(g('0-1-10'), g('0-1-12')), []);
  assert.equal(aheadIn(g('1-1-3'), g('0-1-12')), [{ domain: 1, seq: 3, otherSeq: -1 }]);
});

test('checkCandidate: a replica behind another is refused naming who is ahead, unless forced', () => {
  const positions = [
    { host: 'db-02', received: g('0-1-100') },
    { host: 'db-03', received: g('0-1-104') },
  ];
  const refused = checkCandidate('db-02', positions, false);
  assert.is(refused.ok, false);
  assert.match((refused as { message: string }).message, /^db-02 is behind db-03 \(domain 0: 104 > 100\).*Promote db-03 instead, or pass --force/);
  assert.equal(checkCandidate('db-02', positions, true), { ok: true, ahead: ['db-03'] });
  assert.equal(checkCandidate('db-03', positions, false), { ok: true, ahead: [] });
  assert.equal(checkCandidate('db-02', [{ host: 'db-02', received: g('0-1-5') }, { host: 'db-03', received: g('0-1-5') }], false), { ok: true, ahead: [] });
  assert.is(checkCandidate('db-04', positions, false).ok, false, 'a replica whose position could not be read');
});

const LAB_TEXT = `# Private lab (comments stay)
name: lab
hosts:
  web-01: { address: 10.81.0.11, roles: [lb, web, app, db-primary] } # first
  web-02:
    address: 10.81.0.12
    roles:
      - lb
      - "db-replica"   # quoted, with a comment
db: { name: app }
`;

const REWRITES: { name: string; text: string; fence: boolean; want: string }[] = [
  {
    name: 'flow and block lists, a quoted role, comments: only the two roles change',
    text: LAB_TEXT,
    fence: false,
    want: LAB_TEXT.replace('db-primary]', 'db-replica]').replace('"db-replica"', 'db-primary'),
  },
  {
    name: 'a failover in a one-line db section: the fencing record joins it in its style',
    text: LAB_TEXT,
    fence: true,
    want: LAB_TEXT.replace('db-primary]', 'db-replica]').replace('"db-replica"', 'db-primary').replace('db: { name: app }', 'db: { name: app, fenced: [web-01] }'),
  },
  {
    name: 'a failover in a block db section: the record with why as a comment',
    text: `hosts:\n  web-01: {roles: [db-primary]}\n  web-02: {roles: [db-replica]}\ndb:\n  name: app # the app's\nlb: {}\n`,
    fence: true,
    want: `hosts:\n  web-01: {roles: [db-replica]}\n  web-02: {roles: [db-primary]}\ndb:\n  name: app # the app's\n  fenced: [web-01] # why\nlb: {}\n`,
  },
  {
    name: 'a failover without a db section: one is added at the end',
    text: `hosts:\n  web-01: {roles: [db-primary]}\n  web-02: {roles: [db-replica]}\n`,
    fence: true,
    want: `hosts:\n  web-01: {roles: [db-replica]}\n  web-02: {roles: [db-primary]}\ndb:\n  fenced: [web-01] # why\n`,
  },
  {
    name: 'a failover with a block list of fenced servers already',
    text: `hosts:\n  web-01: {roles: [db-primary]}\n  web-02: {roles: [db-replica]}\ndb:\n  fenced:\n    - old-03\n  name: app\n`,
    fence: true,
    want: `hosts:\n  web-01: {roles: [db-replica]}\n  web-02: {roles: [db-primary]}\ndb:\n  fenced:\n    - old-03\n    - web-01\n  name: app\n`,
  },
];
for (const c of REWRITES) {
  test(`inventory rewrite: ${c.name}; rejoin's unfence gives the text back`, () => {
    const out = moveRoles(c.text, 'lab.yml', { primary: 'web-02', former: 'web-01', ...(c.fence && { fence: { note: 'why' } }) });
    assert.is(out, c.want);
    const read = parseDocument(out).toJS();
    assert.ok(read.hosts['web-02'].roles.includes('db-primary'));
    assert.ok(read.hosts['web-01'].roles.includes('db-replica'));
    if (c.fence) {
      const back = unfence(out, 'lab.yml', 'web-01');
      assert.not.ok((parseDocument(back).toJS().db?.fenced ?? []).includes('web-01'));
      if (c.name.includes('one-line')) assert.is(back, LAB_TEXT.replace('db-primary]', 'db-replica]').replace('"db-replica"', 'db-primary'));
      if (c.name.includes('block db')) assert.is(back, c.text.replace('[db-primary]', '[db-replica]').replace('[db-replica]}\ndb', '[db-primary]}\ndb'));
    }
  });
}

test('inventory rewrite: a host without the role it should have is refused, naming the field', () => {
  const err = thrown(() => moveRoles(LAB_TEXT, 'lab.yml', { primary: 'web-01', former: 'web-02' }), InventoryError);
  assert.match(err.message, /lab\.yml: hosts\.web-01\.roles: has no db-replica/);
});

test('stop writes: read_only, then the app account\'s write transactions ended, then the position; quoting holds', () => {
  const cmd = stopWritesScript(mariadb, "o'app");
  assert.is(cmd.kind, 'script');
  const script = (cmd as { script: string }).script;
  assert.match(script, /SET SESSION lock_wait_timeout = 5; SET GLOBAL read_only = ON;/);
  // Run by sh with a stand-in mysql that records its arguments and names one open transaction.
  const ran = spawnSync('sh', ['-c', `exec 3>&2\nmysql() { printf '%s\\n' "$*" >&3; case "$*" in *innodb_trx*) echo 42;; *gtid*) echo 0-1-9;; esac; }\n${script}`], { encoding: 'utf8' });
  assert.is(ran.status, 0, ran.stderr);
  assert.is(ran.stdout.trim().split('\n').pop(), '0-1-9', 'the position comes last');
  const calls = ran.stderr.trim().split('\n');
  assert.match(calls[0]!, /SET GLOBAL read_only = ON;$/);
  assert.match(calls[1]!, /WHERE p\.user = 'o''app' AND/, 'the account name is one SQL string');
  assert.is(calls[2], '-e KILL CONNECTION 42');
});

test('follow: a former primary continues from its own binary log; the password travels masked on stdin', () => {
  const password = SPECIAL_PASSWORDS.db_replication_password;
  const source = { name: 'web-02', host: '10.0.0.12', port: 3306, user: 'tandem_repl', password };
  const own = follow(mariadb, source, { on: true, ca: "/etc/tandem/tls/db-ca.pem" }, true) as { stdin: Secret; describe: string };
  const sql = own.stdin.reveal();
  assert.match(sql, /STOP SLAVE;\nSET GLOBAL gtid_slave_pos = @@GLOBAL\.gtid_binlog_pos;\nCHANGE MASTER TO MASTER_HOST='10\.0\.0\.12'.*MASTER_USE_GTID=slave_pos.*MASTER_SSL=1, MASTER_SSL_CA='\/etc\/tandem\/tls\/db-ca\.pem', MASTER_SSL_VERIFY_SERVER_CERT=1;/);
  assert.match(sql, /START SLAVE;\n$/);
  assert.not.match(follow(mariadb, source, { on: false }, false) && (follow(mariadb, source, { on: false }, false) as { stdin: Secret }).stdin.reveal(), /gtid_slave_pos =/);
  assert.not.ok(describeCommand(follow(mariadb, source, { on: true }, true), new Redactor([new Secret(password)])).includes(password));
  assert.match((becomePrimary(mariadb) as { stdin: string }).stdin, /STOP SLAVE;\nRESET SLAVE ALL;\nSET GLOBAL read_only = OFF;/);
});

test('pointApp: the database file as apply writes it, then a reload (SIGHUP), never a restart', () => {
  const inv = testInventory(TWO_SERVERS);
  const content = appDbFile(inv.hosts[0]!, inv.hosts[1]!);
  assert.equal(parseEnvText(content), { DB_PRIMARY_HOST: '10.0.0.12', DB_LOCAL_HOST: '10.0.0.11' });
  const cmd = pointApp(content) as { script: string; stdin: string };
  assert.is(cmd.stdin, content, 'the content travels on stdin');
  assert.equal(cmd.script.split('\n').slice(-2), ["mv -f /etc/tandem/app-db.env.tandem-new /etc/tandem/app-db.env", 'systemctl reload tandem-app']);
  assert.not.match(cmd.script, /restart/);
});

test('catch up and take writes: one round trip; a replica that does not get there changes nothing and says so by its exit code', () => {
  const cmd = catchUpAndTakeWrites(mariadb, "0-1-9", 30) as { script: string; okExitCodes: number[] };
  assert.equal(cmd.okExitCodes, [0, NOT_CAUGHT_UP]);
  const run = (waited: string) =>
    spawnSync('sh', ['-c', `exec 3>&2\nmysql() { printf '%s\\n' "$*" >&3; case "$*" in *MASTER_GTID_WAIT*) echo ${waited};; esac; }\n${cmd.script}`], { encoding: 'utf8' });
  const done = run('0');
  assert.is(done.status, 0);
  assert.equal(done.stderr.trim().split('\n'), ["-N -B -e SELECT MASTER_GTID_WAIT('0-1-9', 30)", '-N -B -e STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF;']);
  const late = run('-1');
  assert.is(late.status, NOT_CAUGHT_UP);
  assert.is(late.stderr.trim().split('\n').length, 1, 'it did not stop replicating nor take writes');
});

test('seriesOf and clearForSeed', () => {
  assert.is(seriesOf('11.8.3-MariaDB-deb13'), '11.8');
  assert.is(seriesOf('10.11.11-MariaDB-0+deb12u1-log'), '10.11');
  assert.is(seriesOf('garbage'), undefined);
  const script = (clearForSeed(mariadb, ['app', 'we`ird'], '/var/lib/tandem/rejoin/app.sql') as { script: string }).script;
  assert.match(script, /mysqldump .* --databases app 'we`ird' > \/var\/lib\/tandem\/rejoin\/app\.sql/);
  assert.match(script, /SET SESSION sql_log_bin = 0; STOP SLAVE; RESET SLAVE ALL; DROP DATABASE IF EXISTS `app`; DROP DATABASE IF EXISTS `we``ird`; RESET MASTER;/);
  assert.ok(script.indexOf('mysqldump') < script.indexOf('DROP DATABASE'), 'the dump comes first');
});

const have = (over: Partial<MysqlState>): MysqlState => ({ up: true, databases: new Set(), tables: new Map(), replica: {}, ...over });

test('writable: the inventory primary turns read_only off, only when it answers and replicates from nobody', () => {
  const change = planWritable(mariadb, have({ readOnly: true }));
  assert.match(String(change!.commands[0]!.kind === 'script' && change!.commands[0]!.stdin), /SET GLOBAL read_only = OFF;/);
  assert.is(planWritable(mariadb, have({ readOnly: false })), null);
  const replicating = thrown(() => planWritable(mariadb, have({ readOnly: true, replica: { Master_Host: '10.0.0.12' } })), ValidationError);
  assert.match(replicating.message, /replicates from 10\.0\.0\.12: it was left read-only.*tandem promote/);
  assert.match(thrown(() => planWritable(mariadb, have({ up: false })), ValidationError).message, /does not answer/);
  const f = thrown(() => fenced('web-01').plan({ get: () => undefined as never }), ValidationError);
  assert.match(f.message, /web-01 is fenced .*`tandem rejoin web-01`/);
});

test('db.fenced: names a db-replica host of the inventory, else the loader says which field is wrong', () => {
  assert.equal(testInventory(`${TWO_SERVERS}db: { fenced: [web-02] }\n`).db.fenced, ['web-02']);
  assert.match(thrown(() => testInventory(`${TWO_SERVERS}db: { fenced: [web-09] }\n`), InventoryError).message, /db\.fenced: web-09 is not a host of this inventory/);
  assert.match(thrown(() => testInventory(`${TWO_SERVERS}db: { fenced: [web-01] }\n`), InventoryError).message, /db\.fenced: web-01 must have the role db-replica/);
});

test('checkTarget and rolesAfter: a db-replica, not the primary nor fenced; the two roles swap', () => {
  const inv = testInventory(`${TWO_SERVERS}lb: { algorithm: roundrobin }\n`);
  checkTarget(inv, 'web-02');
  assert.match(thrown(() => checkTarget(inv, 'web-01'), UsageError).message, /web-01 is the primary already/);
  assert.match(thrown(() => checkTarget(inv, 'nope'), UsageError).message, /nope is not a host of/);
  assert.match(thrown(() => checkTarget(testInventory(`${TWO_SERVERS}db: { fenced: [web-02] }\n`), 'web-02'), UsageError).message, /fenced/);
  const moved = rolesAfter(inv, 'web-02', 'web-01');
  assert.equal(moved.get('web-02')!.roles, ['lb', 'web', 'app', 'db-primary']);
  assert.equal(moved.get('web-01')!.roles, ['lb', 'web', 'app', 'db-replica']);
});

test.run();
