// `tandem status` as a person reads it: one row per server, the shared address on its own line.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { renderStatus } from '../../src/cli/status.ts';
import type { StackStatus } from '../../src/status/gather.ts';

test('status table: releases, replication, state per load balancer; errors and the shared address said plainly', () => {
  const st: StackStatus = {
    servers: {
      'web-01': { roles: ['lb', 'web', 'app', 'db-primary'], current: '1.0.1-abc', holdsSharedAddress: true },
      'web-02': { roles: ['lb', 'web', 'app', 'db-replica'], current: '1.0.1-abc', replication: { io: 'No', sql: 'Yes', lagSeconds: null, error: 'error connecting to master' } },
      'web-03': { roles: ['web'], error: 'connect ETIMEDOUT' },
    },
    loadBalancers: { 'web-01': { 'web-01': 'UP', 'web-02': 'DRAIN', 'web-03': 'DOWN' }, 'web-02': { error: 'socat: not found' } },
    sharedAddress: { address: '10.0.0.10', heldBy: ['web-01'] },
  };
  const out = renderStatus(st, ['web-01', 'web-02', 'web-03'], ['web-01', 'web-02']).split('\n');
  assert.match(out[0]!, /^SERVER\s+ROLES\s+CURRENT RELEASE\s+REPLICATION\s+IN web-01\s+IN web-02$/);
  assert.match(out[1]!, /^web-01\s+lb,web,app,db-primary\s+1\.0\.1-abc\s+-\s+UP\s+-$/);
  assert.match(out[2]!, /^web-02\s+lb,web,app,db-replica\s+1\.0\.1-abc\s+IO No, SQL Yes, lag \? s: error connecting to master\s+DRAIN\s+-$/);
  assert.match(out[3]!, /^web-03\s+web\s+unreachable: connect ETIMEDOUT$/);
  assert.is(out[4], 'web-02: cannot read HAProxy: socat: not found');
  assert.is(out[5], 'shared address 10.0.0.10: on web-01');
  const none = renderStatus({ ...st, sharedAddress: { address: '10.0.0.10', heldBy: [] } }, [], []);
  assert.match(none, /shared address 10\.0\.0\.10: on no load balancer/);
});

test.run();
