// The database facts of a batch share one `mysql` client run (src/facts/mysql-probe.ts): its SQL
// reaches the client intact whatever the account names, and its output is cut back into each
// fact's reading as if that fact had run the client alone.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { batchScript, newToken, splitBatch } from '../../src/engine/facts.ts';
import type { Fact } from '../../src/engine/types.ts';
import { mysqlProbeSql, splitMysqlParts } from '../../src/facts/mysql-probe.ts';
import { mysqlAccountFact, mysqlStateFact, type AccountState, type MysqlState } from '../../src/facts/mysql.ts';
import { sqlString } from '../../src/formats/sql.ts';
import { mariadb } from '../../src/ops/mysql/dialect.ts';
import { mysqlClientOutput } from '../fixtures/mysql-client.ts';
import { SPECIAL_VALUES } from '../fixtures/special-values.ts';

const TWO = [['SELECT 1', 'SHOW SLAVE STATUS\\G'], ['SHOW DATABASES']] as const;
const MARK = (p: number, s: number) => `tandem_mark\tpart\tstatement\ntandem-mark\t${p}\t${s}\n`;

const SPLITS: { name: string; stdout: string; parts: readonly (readonly string[])[]; want: { stdout: string; exitCode: number }[] }[] = [
  {
    name: 'tabular rows lose their header, vertical rows keep every line, empty results stay empty',
    stdout: `1\n1\n${MARK(0, 0)}*** 1. row ***\nSlave_IO_Running: Yes\n${MARK(0, 1)}Database\napp\nmysql\n${MARK(1, 0)}`,
    parts: TWO,
    want: [
      { stdout: '1\n*** 1. row ***\nSlave_IO_Running: Yes\n', exitCode: 0 },
      { stdout: 'app\nmysql\n', exitCode: 0 },
    ],
  },
  {
    name: 'a failed statement (no such grant) is an empty result, not the end of the session',
    stdout: `${MARK(0, 0)}${MARK(0, 1)}Database\napp\n${MARK(1, 0)}`,
    parts: TWO,
    want: [
      { stdout: '', exitCode: 0 },
      { stdout: 'app\n', exitCode: 0 },
    ],
  },
  {
    name: 'the server never answered: nothing is known of any part',
    stdout: '',
    parts: TWO,
    want: [
      { stdout: '', exitCode: 3 },
      { stdout: '', exitCode: 3 },
    ],
  },
  {
    name: 'the session ended after the first part: the second is unknown, not empty',
    stdout: `1\n1\n${MARK(0, 0)}${MARK(0, 1)}Database\napp\n`,
    parts: TWO,
    want: [
      { stdout: '1\n', exitCode: 0 },
      { stdout: '', exitCode: 3 },
    ],
  },
  {
    name: 'the session ended inside a part: that part is unknown, not half read',
    stdout: `1\n1\n${MARK(0, 0)}*** 1. row ***\n`,
    parts: TWO,
    want: [
      { stdout: '', exitCode: 3 },
      { stdout: '', exitCode: 3 },
    ],
  },
  {
    // -B escapes a tab inside a value, and a mark row without its header line is data.
    name: 'data that looks like a mark is data',
    stdout: `1\ntandem-mark\\t0\\t0\ntandem-mark\t0\t0\n${MARK(0, 0)}${MARK(0, 1)}Database\ntandem-mark\t1\t0\n${MARK(1, 0)}`,
    parts: TWO,
    want: [
      { stdout: 'tandem-mark\\t0\\t0\ntandem-mark\t0\t0\n', exitCode: 0 },
      { stdout: 'tandem-mark\t1\t0\n', exitCode: 0 },
    ],
  },
];

for (const c of SPLITS) {
  test(`mysql probe split: ${c.name}`, () => {
    assert.equal(splitMysqlParts(c.stdout, c.parts), c.want);
  });
}

test('mysql probe SQL: each statement terminated (\\G ones as they are), then its mark', () => {
  assert.equal(
    mysqlProbeSql(TWO).trimEnd().split('\n').slice(-6),
    [
      'SELECT 1;',
      "SELECT 'tandem-mark' AS tandem_mark, 0 AS part, 0 AS statement;",
      'SHOW SLAVE STATUS\\G',
      "SELECT 'tandem-mark' AS tandem_mark, 0 AS part, 1 AS statement;",
      'SHOW DATABASES;',
      "SELECT 'tandem-mark' AS tandem_mark, 1 AS part, 0 AS statement;",
    ],
  );
});

// ---- A whole batch, run for real with a recording `mysql` ----------------------------------

let dir = '';
test.before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-mysql-probe-'));
});
test.after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs the batch with a `mysql` on PATH that records its stdin and answers `reply`, the way the
 * engine runs it; returns the SQL the client got and the readings.
 */
function runBatch(facts: Fact<unknown>[], reply: string) {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const sqlFile = path.join(dir, 'sql');
  fs.rmSync(sqlFile, { force: true });
  fs.writeFileSync(path.join(dir, 'reply'), reply);
  fs.writeFileSync(path.join(bin, 'mysql'), `#!/bin/sh\ncat >> '${sqlFile}'\ncat '${path.join(dir, 'reply')}'\n`, { mode: 0o755 });
  const token = newToken();
  const res = spawnSync('sh', ['-c', batchScript(facts, token)], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  assert.is(res.status, 0, res.stderr);
  const raw = splitBatch(res.stdout, facts, token);
  return { sql: fs.readFileSync(sqlFile, 'utf8'), readings: facts.map((f, i) => f.parse(raw[i]!.stdout, raw[i]!.exitCode)) };
}

test('batch: the state and every account, special characters included, in ONE client run; each reads its own rows', () => {
  const accounts = SPECIAL_VALUES.filter((v) => v !== '').map((v, i) => ({ user: v, host: i % 2 ? v : '10.0.0.2' }));
  const state = mysqlStateFact(mariadb.showReplicaStatus, mariadb.service);
  const facts: Fact<unknown>[] = [state, ...accounts.map((a) => mysqlAccountFact(a, mariadb.service))];
  // Each account's rows: its hash, then SHOW GRANTS naming it (backticks, as the server writes them).
  const grant = (a: { user: string; host: string }) => `GRANT USAGE ON *.* TO \`${a.user}\`@\`${a.host}\``;
  const section = (name: string) => `-- section ${name}\n-- section ${name}\n`;
  const reply = mysqlClientOutput([
    [section('databases'), 'Database\napp\nmysql\n', section('tables'), 'table_schema\tCOUNT(*)\napp\t2\n', section('replica'), '', section('read_only'), '@@GLOBAL.read_only\n1\n', section('semisync'), 'Variable_name\tValue\nRpl_semi_sync_master_clients\t1\nRpl_semi_sync_master_status\tON\n'],
    ...accounts.map((a, i) => [`CONCAT(...)\nauth:mysql_native_password:${i.toString(16).padStart(2, '0')}\n`, `Grants for ${a.user}@${a.host}\n${grant(a)}\n`]),
  ]);
  const { sql, readings } = runBatch(facts, reply);
  // One client run got every statement intact, each name as one SQL literal.
  assert.is(sql, mysqlProbeSql(facts.map((f) => f.shared!.part)));
  for (const a of accounts) assert.ok(sql.includes(`SHOW GRANTS FOR ${sqlString(a.user)}@${sqlString(a.host)};\n`), a.user);
  const got = readings[0] as MysqlState;
  assert.equal([got.up, [...got.databases], [...got.tables], got.replica], [true, ['app', 'mysql'], [['app', 2]], {}]);
  assert.equal([got.readOnly, got.semiSync], [true, { Rpl_semi_sync_master_clients: '1', Rpl_semi_sync_master_status: 'ON' }], 'read_only and semi-sync in the same run');
  accounts.forEach((a, i) => {
    const acc = readings[i + 1] as AccountState;
    assert.equal([acc.exists, acc.plugin, acc.auth, acc.grants], [true, 'mysql_native_password', Buffer.from([i]), [grant(a)]], a.user);
  });
});

test('batch: a server that does not answer leaves every account unanswered and the state down', () => {
  const facts: Fact<unknown>[] = [mysqlStateFact(mariadb.showReplicaStatus), mysqlAccountFact({ user: "it's", host: 'h' })];
  const { readings } = runBatch(facts, '');
  assert.is((readings[0] as MysqlState).up, false);
  assert.is((readings[1] as AccountState).unanswered, true);
});

test.run();
