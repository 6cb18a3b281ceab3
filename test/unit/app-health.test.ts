// The sample app's read health on a replica, as a table: SHOW REPLICA STATUS (MariaDB's field
// names, and MySQL 8's) plus whether the primary answers -> may this server serve reads, and why.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
// @ts-expect-error plain JavaScript without types: the app runs on the servers without a build step
import { replicaReadHealth } from '../../examples/app/src/app.js';

const mariadb = (io: string, sql: string, lag: string | null, errors: { io?: string; sql?: string } = {}) => ({
  Slave_IO_Running: io,
  Slave_SQL_Running: sql,
  Seconds_Behind_Master: lag,
  Last_IO_Error: errors.io ?? '',
  Last_SQL_Error: errors.sql ?? '',
});
const mysql8 = (io: string, sql: string, lag: string | null) => ({ Replica_IO_Running: io, Replica_SQL_Running: sql, Seconds_Behind_Source: lag, Last_IO_Error: '', Last_SQL_Error: '' });

const DUP = "Could not execute Write_rows_v1 event on table app.visits; Duplicate entry '7' for key 'PRIMARY'";
const cases: { name: string; row: object | undefined; primaryReachable?: boolean; ok: boolean; reason?: RegExp }[] = [
  { name: 'both threads run, no lag', row: mariadb('Yes', 'Yes', '0'), ok: true },
  { name: 'lag at the limit', row: mariadb('Yes', 'Yes', '10'), ok: true },
  { name: 'lag over the limit', row: mariadb('Yes', 'Yes', '11'), ok: false, reason: /^the replica lags 11 s behind the primary, over the limit of 10 s$/ },
  { name: 'MySQL 8 field names, lag over', row: mysql8('Yes', 'Yes', '42'), ok: false, reason: /lags 42 s/ },
  { name: 'MySQL 8 field names, fine', row: mysql8('Yes', 'Yes', '0'), ok: true },
  { name: 'SQL thread stopped on an error', row: mariadb('Yes', 'No', null, { sql: DUP }), ok: false, reason: /^the SQL thread is stopped: Could not execute .*Duplicate entry '7'/ },
  { name: 'STOP SLAVE', row: mariadb('No', 'No', null), ok: false, reason: /^the SQL thread is stopped$/ },
  { name: 'IO thread stopped alone', row: mariadb('No', 'Yes', null, { io: 'error reading packet' }), ok: false, reason: /^the IO thread is stopped: error reading packet$/ },
  { name: 'IO retrying, the primary unreachable from the app too: reads stay', row: mariadb('Connecting', 'Yes', null, { io: "Can't connect" }), primaryReachable: false, ok: true, reason: /the primary cannot be reached/ },
  { name: 'IO retrying while the primary answers the app: lag unknown, no reads', row: mariadb('Connecting', 'Yes', null, { io: 'Access denied' }), primaryReachable: true, ok: false, reason: /^the IO thread is Connecting: Access denied$/ },
  { name: 'lag unknown with both threads running', row: mariadb('Yes', 'Yes', 'NULL'), ok: false, reason: /^the lag is unknown$/ },
  { name: 'not configured', row: undefined, ok: false, reason: /^replication is not configured on this replica$/ },
];

for (const c of cases) {
  test(`replica read health: ${c.name}`, () => {
    const got = replicaReadHealth(c.row, { maxLagSeconds: 10, primaryReachable: c.primaryReachable });
    assert.is(got.ok, c.ok, JSON.stringify(got));
    if (c.reason) assert.match(got.reason ?? '', c.reason);
    else assert.is(got.reason, undefined);
  });
}

test('replica read health reports the threads, the lag and the limit it was held to', () => {
  assert.equal(replicaReadHealth(mariadb('Yes', 'Yes', '3'), { maxLagSeconds: 5 }), { io: 'Yes', sql: 'Yes', lagSeconds: 3, maxLagSeconds: 5, ok: true });
});

test.run();
