// Database ops as tables: {args, facts} -> SQL, for MariaDB and MySQL 8 dialects. The SQL is read by
// meaning (test/fixtures/sql-statements.ts: statement kind, account, password, privileges, options).
import { parseAlone } from '../../src/engine/facts.ts';
import { mysqlClientOutput } from '../fixtures/mysql-client.ts';
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { mariadb, mysql8 } from '../../src/ops/mysql/dialect.ts';
import { account, database, grantsSatisfied, planAccount, planDatabase } from '../../src/ops/mysql/ops.ts';
import { nativePasswordHash, sha256CryptChecksum, storedPasswordIs } from '../../src/ops/mysql/password-hash.ts';
import { clientOptions, dumpScript, DUMP_ATTEMPTS, planReplication, replication, seedGuard, seedInput, seedScript } from '../../src/ops/mysql/replication.ts';
import { SQL_PRELUDE } from '../../src/formats/sql.ts';
import { framed, unframeScript } from '../../src/formats/stdin-frames.ts';
import { parseOptionFile } from '../fixtures/format-parsers.ts';
import { readSql, type Statement } from '../fixtures/sql-statements.ts';
import { SPECIAL_PASSWORDS, SPECIAL_VALUES } from '../fixtures/special-values.ts';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mysqlAccountFact, mysqlStateFact, parseAccount, parseMysqlState, type AccountState, type MysqlState } from '../../src/facts/mysql.ts';
import { Secret, Redactor } from '../../src/secrets/secret.ts';
import { describeCommand } from '../../src/engine/commands.ts';
import { serverId } from '../../recipes/database.ts';
import type { Platform } from '../../src/facts/platform.ts';

const state = (over: Partial<MysqlState> = {}): MysqlState => ({
  up: true,
  databases: new Set(['mysql']),
  tables: new Map(),
  replica: {},
  ...over,
});
const NO_ACCOUNT: AccountState = { exists: false, plugin: '', auth: Buffer.alloc(0), grants: [] };
/**
 * How each dialect's CREATE/ALTER USER carries a password. MariaDB writes those statements to the
 * binary log as sent, so tandem sends the hash and the password itself never reaches the logs.
 */
const passwordIn = (d: typeof mariadb, password: string): Partial<Statement> =>
  d.engine === 'mariadb' ? { passwordHash: nativePasswordHash(password) } : { password };
const native = (password: string) => ({ plugin: 'mysql_native_password', auth: Buffer.from(nativePasswordHash(password), 'latin1') });
const stdinOf = (c: { stdin?: unknown }) => (c.stdin instanceof Secret ? c.stdin.reveal() : String(c.stdin));
const pw = new Secret('s3cret-pass-word');
/** The statements a change sends (its first command's stdin), read by meaning. */
const sqlOf = (c: { commands: unknown[] }): Statement[] => readSql(stdinOf(c.commands[0] as never));
const DIALECTS = [mariadb, mysql8] as const;

test('mysql_native_password hash matches the server form', () => {
  // SELECT PASSWORD('password') on MariaDB.
  assert.is(nativePasswordHash('password'), '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19');
});

for (const d of DIALECTS) {
  test(`database, ${d.engine}: created when missing, nothing when present`, () => {
    const c = planDatabase({ name: 'app', dialect: d }, state())!;
    assert.equal(sqlOf(c), [{ kind: 'CREATE DATABASE', ifNotExists: true, database: 'app' }]);
    assert.is(planDatabase({ name: 'app', dialect: d }, state({ databases: new Set(['app']) })), null);
  });
}

for (const d of DIALECTS) {
  test(`account, ${d.engine}: created with each grant, the password only on stdin and masked in descriptions`, () => {
    const grants = [{ privileges: ['SELECT', 'INSERT'], on: '`app`.*' }, { privileges: ['REPLICATION SLAVE', 'REPLICATION CLIENT'], on: '*.*' }];
    const c = planAccount({ user: 'app', host: '10.0.0.2', password: pw, grants, dialect: d }, NO_ACCOUNT)!;
    const account = { user: 'app', host: '10.0.0.2' };
    assert.equal(sqlOf(c), [
      { kind: 'CREATE USER', ifNotExists: true, account, ...passwordIn(d, 's3cret-pass-word') },
      { kind: 'GRANT', privileges: ['SELECT', 'INSERT'], on: '`app`.*', account },
      { kind: 'GRANT', privileges: ['REPLICATION SLAVE', 'REPLICATION CLIENT'], on: '*.*', account },
    ]);
    const shown = describeCommand(c.commands[0]!, new Redactor([pw]));
    assert.not.match(shown, /s3cret/);
    assert.not.match(JSON.stringify(c), /s3cret/);
  });

  test(`account, ${d.engine}: nothing when the hash and grants match; ALTER USER alone when the password differs; the missing GRANT alone`, () => {
    const args = { user: 'app', host: 'h', password: pw, grants: [{ privileges: ['SELECT', 'INSERT'], on: '`app`.*' }, { privileges: ['RELOAD'], on: '*.*' }], dialect: d };
    const grants = ["GRANT USAGE ON *.* TO `app`@`h` IDENTIFIED BY PASSWORD '*X'", 'GRANT SELECT, INSERT ON `app`.* TO `app`@`h`', 'GRANT RELOAD ON *.* TO `app`@`h`'];
    assert.is(planAccount(args, { exists: true, ...native(pw.reveal()), grants }), null);
    const alter = planAccount(args, { exists: true, ...native('the old password'), grants })!;
    assert.equal(sqlOf(alter), [{ kind: 'ALTER USER', account: { user: 'app', host: 'h' }, ...passwordIn(d, 's3cret-pass-word') }]);
    const missing = planAccount(args, { exists: true, ...native(pw.reveal()), grants: grants.slice(0, 2) })!;
    assert.equal(sqlOf(missing), [{ kind: 'GRANT', privileges: ['RELOAD'], on: '*.*', account: { user: 'app', host: 'h' } }]);
  });

  test(`account local to a replica, ${d.engine}: the binary log is off for the session before any statement`, () => {
    const c = planAccount({ user: 'app', host: 'h', password: pw, grants: [], dialect: d, local: true }, NO_ACCOUNT)!;
    assert.equal(sqlOf(c).map((st) => [st.kind, st.variable, st.value]), [['SET SESSION', 'sql_log_bin', '0'], ['CREATE USER', undefined, undefined]]);
    const logged = planAccount({ user: 'app', host: 'h', password: pw, grants: [], dialect: d }, NO_ACCOUNT)!;
    assert.equal(sqlOf(logged).map((st) => st.kind), ['CREATE USER'], 'an account on the primary is logged, so it replicates');
  });
}

test('grants: MariaDB prints REPLICATION CLIENT as BINLOG MONITOR; ALL PRIVILEGES covers all', () => {
  assert.ok(grantsSatisfied(['GRANT RELOAD, BINLOG MONITOR, REPLICATION SLAVE ON *.* TO `r`@`h`'], { privileges: ['REPLICATION SLAVE', 'REPLICATION CLIENT', 'RELOAD'], on: '*.*' }));
  assert.ok(grantsSatisfied(['GRANT ALL PRIVILEGES ON `tandem`.* TO `v`@`h`'], { privileges: ['SELECT'], on: '`tandem`.*' }));
  assert.not.ok(grantsSatisfied(['GRANT SELECT ON `app`.* TO `a`@`h`'], { privileges: ['INSERT'], on: '`app`.*' }));
  assert.not.ok(grantsSatisfied(['GRANT SELECT ON `other`.* TO `a`@`h`'], { privileges: ['SELECT'], on: '`app`.*' }));
});

const repl = (dialect = mariadb) => ({
  dialect,
  primary: { name: 'web-01', address: '10.0.0.1', port: 3306 },
  user: 'tandem_repl',
  password: pw,
  databases: ['app', 'tandem'],
});
/** The primary's platform as its first reading says: a release, and what is installed. */
const on = (versionId: '12' | '13', packages: Record<string, string> = {}): Platform => ({
  os: { id: 'debian', versionId, codename: versionId === '13' ? 'trixie' : 'bookworm', prettyName: `Debian GNU/Linux ${versionId}` },
  packages,
});
const bookworm = on('12');
const trixie = on('13');
const running = (d = mariadb, over: Record<string, string> = {}) => ({
  [d.status.sourceHost]: '10.0.0.1',
  [d.status.sourceUser]: 'tandem_repl',
  [d.status.ioRunning]: 'Yes',
  [d.status.sqlRunning]: 'Yes',
  [d.status.lastIoError]: '',
  [d.status.lastSqlError]: '',
  ...over,
});

test('replication: a replica never set up is seeded from a dump, credentials on stdin only', () => {
  const c = planReplication(repl(), state(), bookworm)!;
  assert.match(c.summary, /seed from a consistent dump of web-01/);
  const cmd = c.commands[0]!;
  assert.is(cmd.kind, 'script');
  const script = (cmd as { script: string }).script;
  assert.match(script, /mysqldump --defaults-extra-file="\$work\/client.cnf" --single-transaction --gtid --master-data=2/);
  assert.match(script, /--databases app tandem/);
  assert.match(script, /sql_log_bin=0/);
  assert.not.match(script, /s3cret/);
  const stdin = stdinOf(cmd as never);
  assert.match(stdin, /^password = s3cret-pass-word$/m);
  const [, changeSql] = unframe(stdin, ['client.cnf', 'change.sql']);
  assert.equal(readSql(changeSql!).map((st) => st.kind), ['CHANGE MASTER TO', 'START SLAVE']);
  assert.not.match(script + stdin, /tandem-sql/, 'no in-band marker');
});

test('replication: healthy is left alone; stopped threads are started; an IO error is repaired', () => {
  assert.is(planReplication(repl(), state({ replica: running() }), bookworm), null);
  const stopped = planReplication(repl(), state({ replica: running(mariadb, { Slave_IO_Running: 'No', Slave_SQL_Running: 'No' }) }), bookworm)!;
  assert.match(stopped.summary, /start replication/);
  const io = planReplication(repl(), state({ replica: running(mariadb, { Slave_IO_Running: 'Connecting', Last_IO_Error: 'Access denied for user' }) }), bookworm)!;
  assert.match(io.summary, /repair replication \(IO thread: Access denied/);
  assert.ok(stdinOf(io.commands[0] as never).startsWith(SQL_PRELUDE));
  assert.equal(sqlOf(io).map((st) => st.kind), ['STOP SLAVE', 'CHANGE MASTER TO', 'START SLAVE']);
});

test('replication: an SQL error is reported with the server own words and not touched', () => {
  assert.throws(
    () => planReplication(repl(), state({ replica: running(mariadb, { Slave_SQL_Running: 'No', Last_SQL_Error: "Duplicate entry '1' for key 'PRIMARY'" }) }), bookworm),
    /left as it is: the SQL thread stopped with "Duplicate entry '1' for key 'PRIMARY'"\. .*on this server, SHOW SLAVE STATUS names the failing event; .*run START SLAVE and check the SQL thread runs, then run apply again\.$/,
  );
});

test('replication: pointed elsewhere is re-pointed at the primary', () => {
  const c = planReplication(repl(), state({ replica: running(mariadb, { Master_Host: '10.0.0.9' }) }), bookworm)!;
  assert.match(c.summary, /point replication at web-01 \(10\.0\.0\.1\).*was 10\.0\.0\.9/);
});

test('replication TLS follows the primary: none from MariaDB 10.11, verified TLS from 11.4+ (an 11.8 client insists on it by default)', () => {
  const seed = (primary: Platform) => {
    const c = planReplication(repl(), state(), primary)!;
    const [cnf, sql] = unframe(stdinOf(c.commands[0] as never), ['client.cnf', 'change.sql']);
    const ssl = (o: Record<string, string> = {}) => [o.MASTER_SSL, o.MASTER_SSL_VERIFY_SERVER_CERT];
    return { cnf: cnf!, ssl: ssl(readSql(sql!)[0]!.options) };
  };
  const from1011 = seed(bookworm);
  assert.match(from1011.cnf, /^skip-ssl$/m, 'the dump client does not ask a 10.11 primary for TLS');
  assert.equal(from1011.ssl, ['0', undefined]);
  const from118 = seed(trixie);
  assert.not.match(from118.cnf, /skip-ssl/);
  assert.equal(from118.ssl, ['1', '1']);
  // What is installed counts over the release's default (MariaDB's own packages on Debian 12).
  assert.equal(seed(on('12', { 'mariadb-server': '1:11.8.3+maria~deb12' })).ssl, ['1', '1']);

  const withTls = running(mariadb, { Master_SSL_Allowed: 'Yes' });
  assert.is(planReplication(repl(), state({ replica: withTls }), trixie), null);
  const off = planReplication(repl(), state({ replica: withTls }), bookworm)!;
  assert.match(off.summary, /replicate from web-01 without TLS/);
  const offSql = sqlOf(off);
  assert.equal(offSql.map((st) => st.kind), ['STOP SLAVE', 'CHANGE MASTER TO', 'START SLAVE']);
  assert.is(offSql[1]!.options!.MASTER_SSL, '0');
  const on118 = planReplication(repl(), state({ replica: running(mariadb, { Master_SSL_Allowed: 'No' }) }), trixie)!;
  assert.match(on118.summary, /replicate from web-01 with TLS/);
});

test('replication with the primary outside the run (--limit): a healthy replica is left alone, any change is refused', () => {
  assert.is(planReplication(repl(), state({ replica: running() }), undefined), null);
  assert.throws(() => planReplication(repl(), state(), undefined), /needs to know which MariaDB web-01 runs .*web-01 is not part of this run or was not reached: run apply with web-01 among the hosts \(--limit\)/);
  assert.throws(() => planReplication(repl(), state({ replica: running(mariadb, { Slave_IO_Running: 'No' }) }), undefined), /--limit/);
  // MySQL 8 decides TLS itself: nothing to know.
  assert.ok(planReplication(repl(mysql8), state(), undefined));
});

/** What each dialect sends to point a replica at the primary (web-01, 10.0.0.1:3306, as tandem_repl). */
const CHANGE: Record<'mariadb' | 'mysql', { stop: string; change: string; start: string; options: Record<string, string> }> = {
  mariadb: {
    stop: 'STOP SLAVE',
    change: 'CHANGE MASTER TO',
    start: 'START SLAVE',
    options: { MASTER_HOST: '10.0.0.1', MASTER_PORT: '3306', MASTER_USER: 'tandem_repl', MASTER_PASSWORD: 's3cret-pass-word', MASTER_USE_GTID: 'slave_pos', MASTER_CONNECT_RETRY: '5', MASTER_SSL: '0' },
  },
  mysql: {
    stop: 'STOP REPLICA',
    change: 'CHANGE REPLICATION SOURCE TO',
    start: 'START REPLICA',
    options: { SOURCE_HOST: '10.0.0.1', SOURCE_PORT: '3306', SOURCE_USER: 'tandem_repl', SOURCE_PASSWORD: 's3cret-pass-word', SOURCE_AUTO_POSITION: '1', SOURCE_CONNECT_RETRY: '5', GET_SOURCE_PUBLIC_KEY: '1' },
  },
};

for (const d of DIALECTS) {
  const want = CHANGE[d.engine];
  test(`replication statements, ${d.engine}: stopped threads are restarted as stop, change source, start, with every option`, () => {
    const c = planReplication(repl(d), state({ replica: running(d, { [d.status.ioRunning]: 'No', [d.status.sqlRunning]: 'No' }) }), bookworm)!;
    assert.equal(sqlOf(c), [{ kind: want.stop }, { kind: want.change, options: want.options }, { kind: want.start }]);
  });
  test(`replication statements, ${d.engine}: the seed sets the source and starts the replica after the dump`, () => {
    const c = planReplication(repl(d), state(), bookworm)!;
    const [, sql] = unframe(stdinOf(c.commands[0] as never), ['client.cnf', 'change.sql']);
    assert.equal(readSql(sql!), [{ kind: want.change, options: want.options }, { kind: want.start }]);
  });
}

test('MySQL 8 dialect: replica status names, GTID wait, config', () => {
  assert.is(planReplication(repl(mysql8), state({ replica: running(mysql8) }), bookworm), null);
  assert.is(mysql8.waitForGtid("3E11FA47:1-5", 10), "SELECT WAIT_FOR_EXECUTED_GTID_SET('3E11FA47:1-5', 10)");
  assert.is(mariadb.waitForGtid('0-1-5', 10), "SELECT MASTER_GTID_WAIT('0-1-5', 10)");
  assert.ok(mysql8.replicationConfig({ readOnly: true }).some(([n, v]) => n === 'gtid_mode' && v === 'ON'));
  assert.ok(mysql8.replicationConfig({ readOnly: true }).some(([n, v]) => n === 'super_read_only' && v === 'ON'));
  assert.match(seedScript(repl(mysql8)), /--set-gtid-purged=ON/);
  assert.equal(mysql8.packages, ['mysql-server', 'mysql-client']);
});

test('parseMysqlState reads databases and the replica status', () => {
  const out = [
    '-- section databases', 'app', 'mysql',
    '-- section tables', 'app\t3',
    '-- section replica', '*************************** 1. row ***************************', '           Slave_IO_Running: Yes', '             Last_SQL_Error: ',
  ].join('\n');
  const s = parseMysqlState(out, 0);
  assert.ok(s.databases.has('app'));
  assert.equal([...s.tables], [['app', 3]]);
  assert.is(s.replica.Slave_IO_Running, 'Yes');
  assert.is(s.replica.Last_SQL_Error, '');
  assert.is(parseMysqlState('', 3).up, false);
});

test('server_id is unique per address and stable', () => {
  const a = serverId({ name: 'a', address: '10.77.0.11', port: 22, roles: [] });
  const b = serverId({ name: 'b', address: '10.77.0.12', port: 22, roles: [] });
  assert.is.not(a, b);
  assert.is(a, serverId({ name: 'renamed', address: '10.77.0.11', port: 22, roles: [] }));
  assert.ok(a > 0 && a < 2 ** 32);
});

test('database ops share one state fact; each account reads only its own, and invalidates only its own', () => {
  const accounts = ['app', 'repl', 'verify'].map((user) => account({ user, host: '10.0.0.2', password: pw, grants: [], dialect: mariadb }));
  const ids = [database({ name: 'app', dialect: mariadb }), ...accounts].flatMap((op) => op.facts.map((f) => f.id));
  assert.equal(ids, ['mysql:state', 'mysql:account:app@10.0.0.2', 'mysql:account:repl@10.0.0.2', 'mysql:account:verify@10.0.0.2']);
  // So that in a plan, creating one account does not leave the others "pending".
  assert.equal(accounts[0]!.plan({ get: <T>() => NO_ACCOUNT as T })!.invalidates, ['mysql:account:app@10.0.0.2']);
  const fact = mysqlAccountFact({ user: 'app', host: '10.0.0.2' });
  // Read through the client run every database fact of a batch shares, with its own statements.
  assert.is(fact.shared!.probe.key, 'mysql');
  assert.equal(fact.shared!.part, ["SELECT CONCAT('auth:', plugin, ':', HEX(authentication_string), ':', ssl_type) FROM mysql.user WHERE User = 'app' AND Host = '10.0.0.2'", "SHOW GRANTS FOR 'app'@'10.0.0.2'"]);
});

// MySQL 8 caching_sha2_password strings for "foobar" and "123456" (the vectors TiDB tests its
// MySQL-compatible check with): `$A$005$`, a 20-byte salt with control bytes, the checksum.
const FOOBAR_SHA2 = Buffer.from('24412430303524031A69251C34295C4B35167C7F1E5A7B63091349503974624D34504B5A424679354856336868686F52485A736E4A733368786E427575516C73446469496537', 'hex');
const DIGITS_SHA2 = Buffer.from('244124303035245e3e122f765160382d0b1e4d416f3f6752557c3c4d726e5a68756f4a547547682e536c504e6e76484a7854646b5452486d636e45464d61377a634147714144', 'hex');

test('sha256-crypt: Drepper\'s reference vectors (default and explicit rounds)', () => {
  assert.is(sha256CryptChecksum(Buffer.from('Hello world!'), Buffer.from('saltstring'), 5000), '5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5');
  assert.is(sha256CryptChecksum(Buffer.from('Hello world!'), Buffer.from('saltstringsaltst'), 10000), '3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA');
});

test('stored password: matched on both plugins, any other plugin or a malformed string is a mismatch', () => {
  const sha2 = (auth: Buffer) => ({ plugin: 'caching_sha2_password', auth });
  assert.ok(storedPasswordIs(sha2(FOOBAR_SHA2), 'foobar'));
  assert.not.ok(storedPasswordIs(sha2(FOOBAR_SHA2), 'not_foobar'));
  assert.ok(storedPasswordIs(sha2(DIGITS_SHA2), '123456'));
  assert.not.ok(storedPasswordIs(sha2(DIGITS_SHA2), 'foobar'));
  assert.not.ok(storedPasswordIs(sha2(FOOBAR_SHA2.subarray(0, 60)), 'foobar'), 'truncated');
  assert.ok(storedPasswordIs(native('foobar'), 'foobar'));
  assert.not.ok(storedPasswordIs(native('foobar'), 'Foobar'));
  assert.not.ok(storedPasswordIs({ plugin: 'auth_socket', auth: Buffer.alloc(0) }, 'foobar'));
});

for (const [dialect, have, other] of [
  [mariadb, native('foobar'), native('an older one')],
  [mysql8, { plugin: 'caching_sha2_password', auth: FOOBAR_SHA2 }, { plugin: 'caching_sha2_password', auth: DIGITS_SHA2 }],
  [mysql8, native('foobar'), native('an older one')],
] as const) {
  test(`password drift, ${dialect.engine} ${have.plugin}: nothing when the stored hash is the password's, ALTER USER when it is not`, () => {
    const args = { user: 'app', host: 'h', password: new Secret('foobar'), grants: [], dialect };
    assert.is(planAccount(args, { exists: true, ...have, grants: [] }), null);
    const c = planAccount(args, { exists: true, ...other, grants: [] })!;
    assert.is(c.summary, 'set the password of app@h');
    assert.equal(sqlOf(c), [{ kind: 'ALTER USER', account: { user: 'app', host: 'h' }, ...passwordIn(dialect, 'foobar') }]);
  });
}

test('parseAccount: the hash line, then the grants; nothing at all is no account', () => {
  assert.equal(parseAccount('auth:mysql_native_password:2A414243\nGRANT USAGE ON *.* TO `app`@`h`\nGRANT SELECT ON `app`.* TO `app`@`h`\n'), {
    exists: true,
    plugin: 'mysql_native_password',
    auth: Buffer.from('*ABC'),
    grants: ['GRANT USAGE ON *.* TO `app`@`h`', 'GRANT SELECT ON `app`.* TO `app`@`h`'],
  });
  assert.equal(parseAccount('auth:mysql_native_password:\n'), { exists: true, plugin: 'mysql_native_password', auth: Buffer.alloc(0), grants: [] }, 'an account without a password exists');
  // A caching_sha2_password salt holds control bytes: hex carries them intact.
  assert.equal(parseAccount(`auth:caching_sha2_password:${FOOBAR_SHA2.toString('hex').toUpperCase()}\n`).auth, FOOBAR_SHA2);
  assert.equal(parseAccount(''), NO_ACCOUNT);
  assert.equal(parseAccount('', 3), { ...NO_ACCOUNT, unanswered: true }, 'the server did not answer');
});

test('account: a server that does not answer is doubt, not "no account": refused, saying so', () => {
  for (const d of [mariadb, mysql8]) {
    assert.throws(
      () => planAccount({ user: 'app', host: '10.0.0.2', password: pw, grants: [], dialect: d }, parseAccount('', 3)),
      new RegExp(`^the database on this server does not answer, so account app@10\\.0\\.0\\.2 could not be checked\\. Start it \\(systemctl start ${d.service}\\), then run apply again\\.$`),
    );
  }
  // The fact tells the two apart: a client that printed nothing (no server) is not an empty answer.
  const fact = mysqlAccountFact({ user: 'app', host: 'h' });
  assert.equal(parseAlone(fact, '', 1).unanswered, true);
  assert.equal(parseAlone(fact, mysqlClientOutput([['', '']]), 1), NO_ACCOUNT);
});

// ---- Special characters ------------------------------------------------------------------------

test('account: every special password reaches SQL as one literal that reads back as the password (MySQL 8), or as its hash and nowhere in the SQL (MariaDB)', () => {
  for (const value of SPECIAL_VALUES) {
    const password = new Secret(value);
    for (const dialect of [mariadb, mysql8]) {
      const c = planAccount({ user: 'app', host: 'h', password, grants: [], dialect }, NO_ACCOUNT)!;
      const sql = stdinOf(c.commands[0] as never);
      assert.ok(sql.startsWith(SQL_PRELUDE), 'backslash escapes are on before any literal');
      const [created] = readSql(sql);
      assert.equal({ password: created!.password, passwordHash: created!.passwordHash }, { password: undefined, passwordHash: undefined, ...passwordIn(dialect, value) }, JSON.stringify(value));
      // (Values too short to be a password could occur in the SQL by chance: secrets have 12 characters or more.)
      if (dialect === mariadb && value.length >= 12) assert.not.ok(sql.includes(value), 'MariaDB logs CREATE USER as sent: the password is not in it');
    }
  }
});

test('replication: the CHANGE MASTER password reads back as given, for both engines', () => {
  for (const d of [mariadb, mysql8]) {
    const c = planReplication({ ...repl(d), password: new Secret(SPECIAL_PASSWORDS.db_replication_password) }, state({ replica: running(d, { [d.status.ioRunning]: 'No', [d.status.sqlRunning]: 'No' }) }), bookworm)!;
    const change = sqlOf(c).find((st) => st.kind === CHANGE[d.engine].change)!;
    assert.is(change.options![d.engine === 'mariadb' ? 'MASTER_PASSWORD' : 'SOURCE_PASSWORD'], SPECIAL_PASSWORDS.db_replication_password);
  }
});

/** Runs the script's stdin-unframing lines with sh and returns the files they wrote. */
function unframe(stdin: string, names: string[]): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-frames-'));
  try {
    const script = unframeScript(names.map((n) => `"$d/${n}"`)).join('\n');
    const r = spawnSync('sh', ['-c', `set -e\nd=${dir}\n${script}`], { input: stdin, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    return names.map((n) => readFileSync(path.join(dir, n), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('stdin frames: parts holding marker lines, newlines, digits and multi-byte text come out whole, by sh', () => {
  const parts = ['-- tandem-sql\nDROP DATABASE app;\n', '0000000099é日本\n\n', '', 'the rest -- tandem-sql\n'];
  assert.equal(unframe(framed(parts), ['a', 'b', 'c', 'd']), parts);
  const bad = spawnSync('sh', ['-c', unframeScript(['/dev/null', '/dev/null']).join('\n')], { input: 'x-not-a-length', encoding: 'utf8' });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /stdin is not in frames/);
});

test('replica seed: the client options and the SQL arrive whole, and read back the password, whatever it holds', () => {
  for (const value of [...SPECIAL_VALUES, SPECIAL_PASSWORDS.db_replication_password]) {
    const args = { ...repl(), password: new Secret(value) };
    const [cnf, sql] = unframe(seedInput(args).reveal(), ['client.cnf', 'change.sql']);
    assert.is(cnf, clientOptions(args));
    assert.equal(parseOptionFile(cnf!).client, { host: '10.0.0.1', port: '3306', user: 'tandem_repl', password: value }, JSON.stringify(value));
    assert.equal(readSql(sql!).map((st) => st.options?.MASTER_PASSWORD ?? st.kind), [value, 'START SLAVE']);
  }
});

test('replication seeds only on positive evidence, and refuses when in doubt, saying what it saw', () => {
  const cases: { name: string; have: MysqlState; expect: 'seed' | null | RegExp }[] = [
    {
      name: 'the server does not answer: it may hold a replica\'s data',
      have: state({ up: false }),
      expect: /^the database on this server does not answer, so what it holds is unknown: replication was neither checked nor seeded\. Start it \(systemctl start mariadb; its log: journalctl -u mariadb\), then run apply again\.$/,
    },
    { name: 'never set up, the databases absent', have: state(), expect: 'seed' },
    { name: 'never set up, the databases there without tables', have: state({ databases: new Set(['mysql', 'app', 'tandem']) }), expect: 'seed' },
    { name: 'tables in databases it does not load do not count', have: state({ databases: new Set(['shop']), tables: new Map([['shop', 7]]) }), expect: 'seed' },
    {
      name: 'never set up, but app holds tables',
      have: state({ databases: new Set(['app']), tables: new Map([['app', 3]]) }),
      expect: /^replication is not configured here, but app holds 3 table\(s\): seeding would load a dump of web-01 over them, so nothing was done\. If that data is disposable, drop that database and run apply again; otherwise set up replication by hand\.$/,
    },
    {
      name: 'both hold tables',
      have: state({ databases: new Set(['app', 'tandem']), tables: new Map([['app', 3], ['tandem', 1]]) }),
      expect: /app holds 3 table\(s\) and tandem holds 1 table\(s\): .*drop those databases/,
    },
    { name: 'set up and running', have: state({ replica: running() }), expect: null },
    { name: 'set up, with tables (its data): left alone', have: state({ replica: running(), tables: new Map([['app', 3]]) }), expect: null },
  ];
  for (const c of cases) {
    if (c.expect instanceof RegExp) {
      assert.throws(() => planReplication(repl(), c.have, bookworm), (err: Error) => c.expect instanceof RegExp && c.expect.test(err.message), c.name);
    } else if (c.expect === null) {
      assert.is(planReplication(repl(), c.have, bookworm), null, c.name);
    } else {
      assert.match(planReplication(repl(), c.have, bookworm)!.summary, /^seed from a consistent dump of web-01/, c.name);
    }
  }
});

test('the seed\'s dump is tried again when a table changed under it (1412), and only then', () => {
  assert.match(seedScript(repl()), /\nuntil mysqldump --defaults-extra-file="\$work\/client.cnf" [^\n]* > "\$work\/dump.sql" 2> "\$work\/dump.err"; do\n/, 'the seed dumps through the loop');
  const work = mkdtempSync(path.join(os.tmpdir(), 'tandem-dump-'));
  try {
    // A stand-in mysqldump failing as the server answers, FAILS times, then dumping.
    const fake = path.join(work, 'fake-dump');
    writeFileSync(fake, `#!/bin/sh\nn=$(cat "$work/n" 2>/dev/null || echo 0); echo $((n + 1)) > "$work/n"\nif [ "$n" -lt "$FAILS" ]; then echo "$ERR" >&2; exit 2; fi\necho '-- dump'\n`);
    chmodSync(fake, 0o755);
    const run = (env: Record<string, string>) => {
      rmSync(path.join(work, 'n'), { force: true });
      const r = spawnSync('sh', ['-c', ['set -e', ...dumpScript(fake)].join('\n')], { encoding: 'utf8', env: { ...process.env, work, ...env } });
      return { code: r.status, stderr: r.stderr, tries: Number(readFileSync(path.join(work, 'n'), 'utf8')), dump: r.status === 0 ? readFileSync(path.join(work, 'dump.sql'), 'utf8') : '' };
    };
    const changed = 'mysqldump: Error 1412: Table definition has changed, please retry transaction when dumping table `visits` at row: 0';
    assert.equal(run({ FAILS: '1', ERR: changed }), { code: 0, stderr: '', tries: 2, dump: '-- dump\n' });
    assert.equal(run({ FAILS: '9', ERR: changed }), { code: 2, stderr: `${changed}\n`, tries: DUMP_ATTEMPTS, dump: '' });
    const denied = "mysqldump: Got error: 1045: Access denied for user 'tandem_repl'";
    assert.equal(run({ FAILS: '9', ERR: denied }), { code: 2, stderr: `${denied}\n`, tries: 1, dump: '' });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('the seed script checks the evidence again on the server, after the dump and before loading it', () => {
  const script = seedScript(repl());
  const guard = seedGuard(repl());
  const at = (line: string) => script.indexOf(line);
  assert.ok(at('mysqldump ') < at(guard[0]!), 'after the dump is taken');
  assert.ok(at(guard.at(-1)!) < at('mysql --batch --init-command'), 'before anything is loaded');
  // The guard run by a shell against a stand-in `mysql` that answers as a server would.
  const bin = mkdtempSync(path.join(os.tmpdir(), 'tandem-fake-mysql-'));
  try {
    const fake = path.join(bin, 'mysql');
    writeFileSync(fake, '#!/bin/sh\n[ -n "$FAIL" ] && exit 1\ncase "$*" in *"SHOW SLAVE STATUS"*) printf "%s" "$STATUS" ;; *information_schema*) printf "%s" "$HELD" ;; esac\n');
    chmodSync(fake, 0o755);
    const cases: { env: Record<string, string>; code: number; stderr: string }[] = [
      { env: {}, code: 0, stderr: '' },
      { env: { STATUS: '10.0.0.1\ttandem_repl\t3306' }, code: 3, stderr: 'not seeding from web-01, nothing was loaded: replication is already configured on this server\n' },
      { env: { HELD: 'app holds 2 table(s), tandem holds 1 table(s)' }, code: 3, stderr: 'not seeding from web-01, nothing was loaded: app holds 2 table(s), tandem holds 1 table(s) already, and a dump would be loaded over it\n' },
      { env: { FAIL: '1' }, code: 3, stderr: 'not seeding from web-01, nothing was loaded: the database does not answer\n' },
    ];
    for (const c of cases) {
      const res = spawnSync('sh', ['-c', `set -e\n${guard.join('\n')}\necho loaded`], { env: { PATH: `${bin}:${process.env.PATH}`, ...c.env }, encoding: 'utf8' });
      assert.is(res.status, c.code, JSON.stringify(c.env));
      assert.is(res.stderr, c.stderr, JSON.stringify(c.env));
      assert.is(res.stdout, c.code === 0 ? 'loaded\n' : '', 'nothing after a refusal');
    }
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test("the database's facts depend on its service: starting or restarting it makes them stale", () => {
  assert.equal(mysqlStateFact(mariadb.showReplicaStatus, mariadb.service).dependsOn, ['service:mariadb']);
  assert.equal(mysqlAccountFact({ user: 'app', host: '10.0.0.2' }, mysql8.service).dependsOn, ['service:mysql']);
  const facts = (op: { facts: { id: string; dependsOn?: readonly string[] }[] }) => op.facts.map((f) => [f.id, f.dependsOn]);
  assert.equal(facts(replication(repl()))[0], ['mysql:state', ['service:mariadb']]);
  assert.equal(facts(database({ name: 'app', dialect: mariadb })), [['mysql:state', ['service:mariadb']]]);
});

test.run();
