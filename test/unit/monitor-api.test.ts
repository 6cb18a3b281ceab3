// What status, verify and `tandem monitor` read from Prometheus and Alertmanager, parsed and shown.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { parseYaml, toInventory } from '../../src/inventory/load.ts';
import { ALERTS, expectedAlertNames, parseAlerts, parseRules, parseTargets } from '../../src/monitor/api.ts';
import { renderAlerts } from '../../src/status/alerts.ts';
import { monitorHostOf } from '../../src/cli/monitor.ts';
import { UsageError } from '../../src/errors.ts';

const inv = (lb = '') =>
  toInventory(
    parseYaml(
      `name: m\ndomain: www.m.test\nssh: { key: k }\nhosts:\n  a: { address: 10.0.0.1, roles: [lb, web, app, db-primary] }\n  b: { address: 10.0.0.2, roles: [lb, web, app, db-replica, monitor] }\n${lb}`,
      'm.yml',
    ),
    '/i/m.yml',
    'm.yml',
  );

test('alerts: firing and pending told apart, host and summary kept; status lists the firing ones', () => {
  const answer = JSON.stringify({
    status: 'success',
    data: {
      alerts: [
        { labels: { alertname: 'ReplicaIOThreadStopped', host: 'b' }, annotations: { summary: 'replication IO thread stopped on b' }, state: 'firing', activeAt: '2026-11-30T13:00:00Z' },
        { labels: { alertname: 'TargetDown', host: 'a' }, annotations: { summary: 'node on a does not answer' }, state: 'pending', activeAt: '2026-11-30T13:01:00Z' },
      ],
    },
  });
  const alerts = parseAlerts(answer);
  assert.equal(alerts.map((a) => [a.name, a.host, a.state]), [['ReplicaIOThreadStopped', 'b', 'firing'], ['TargetDown', 'a', 'pending']]);
  assert.is(renderAlerts({ b: alerts.filter((a) => a.state === 'firing') }), 'alerts firing (Prometheus on b):\n  ReplicaIOThreadStopped  b  replication IO thread stopped on b\n');
  assert.is(renderAlerts({ b: [] }), 'alerts (Prometheus on b): none firing\n');
  assert.is(renderAlerts({ b: { error: 'connection refused' } }), 'alerts (Prometheus on b): cannot read them: connection refused\n');
  assert.throws(() => parseAlerts('<html>'), /not JSON/);
  assert.throws(() => parseAlerts('{"status":"error","data":{}}'), /with status error/);
  assert.equal(ALERTS.kind === 'exec' && ALERTS.argv.at(-1), 'http://127.0.0.1:9090/api/v1/alerts');
});

test('targets and rules: health per target, rule names; the expected rules follow the inventory', () => {
  const targets = parseTargets(JSON.stringify({ status: 'success', data: { activeTargets: [{ labels: { job: 'node', host: 'a', instance: '10.0.0.1:9100' }, health: 'down', lastError: 'connection refused' }] } }));
  assert.equal(targets, [{ job: 'node', host: 'a', instance: '10.0.0.1:9100', health: 'down', lastError: 'connection refused' }]);
  assert.equal(parseRules(JSON.stringify({ status: 'success', data: { groups: [{ rules: [{ name: 'TargetDown', health: 'ok' }] }] } })), [{ name: 'TargetDown', health: 'ok' }]);
  assert.is(expectedAlertNames(inv()).length, 10);
  assert.equal(expectedAlertNames(inv('lb: { mode: active-passive, vip: 10.0.0.10/24, interface: eth0 }\n')).slice(10), ['SharedAddressHeldByNone', 'SharedAddressHeldByTwo']);
});

test('tandem monitor: the first monitor host, or the one named; a wrong name or none is a usage error', () => {
  const i = inv();
  assert.is(monitorHostOf(i.hosts, undefined, 'm.yml').name, 'b');
  assert.throws(() => monitorHostOf(i.hosts, 'a', 'm.yml'), (e: unknown) => e instanceof UsageError && /--host: a is not a monitor host \(monitor hosts: b\)/.test((e as Error).message));
  assert.throws(() => monitorHostOf(i.hosts.slice(0, 1), undefined, 'm.yml'), /m\.yml: no host has the role monitor/);
});

test.run();
