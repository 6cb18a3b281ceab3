// Services as a table: {wanted, systemd state} -> the systemctl commands a user would see.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { planService, service, serviceHandler, daemonReload, type ServiceArgs } from '../../src/ops/service.ts';
import type { ServiceState } from '../../src/facts/service.ts';
import { describeCommand } from '../../src/engine/commands.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import type { Command } from '../../src/engine/types.ts';

const S = (enabled: boolean, active: boolean): ServiceState => ({ exists: true, enabled, active });
const show = (cmd: Command | undefined) => (cmd ? describeCommand(cmd, new Redactor()) : undefined);

const CASES: { name: string; args: ServiceArgs; have: ServiceState; summary: string | null; commands?: string[] }[] = [
  { name: 'enabled and active: nothing', args: { name: 'nginx' }, have: S(true, true), summary: null },
  {
    name: 'disabled but running: enable',
    args: { name: 'nginx' },
    have: S(false, true),
    summary: 'enable nginx',
    commands: ['systemctl enable --quiet nginx'],
  },
  {
    name: 'enabled but stopped: start',
    args: { name: 'nginx' },
    have: S(true, false),
    summary: 'start nginx',
    commands: ['systemctl start nginx'],
  },
  {
    name: 'disabled and stopped: enable and start',
    args: { name: 'haproxy' },
    have: S(false, false),
    summary: 'enable and start haproxy',
    commands: ['systemctl enable --quiet haproxy', 'systemctl start haproxy'],
  },
  {
    name: 'wanted disabled and stopped, it runs: disable and stop',
    args: { name: 'apache2', enabled: false, running: false },
    have: S(true, true),
    summary: 'disable and stop apache2',
    commands: ['systemctl disable --quiet apache2', 'systemctl stop apache2'],
  },
  {
    name: 'wanted disabled and stopped, it is: nothing',
    args: { name: 'apache2', enabled: false, running: false },
    have: S(false, false),
    summary: null,
  },
  {
    name: 'stopped if installed, and it is not installed: nothing',
    args: { name: 'keepalived', enabled: false, running: false, onlyIfInstalled: true },
    have: { exists: false, enabled: false, active: false },
    summary: null,
  },
  {
    name: 'stopped if installed, and it runs: disable and stop',
    args: { name: 'keepalived', enabled: false, running: false, onlyIfInstalled: true },
    have: S(true, true),
    summary: 'disable and stop keepalived',
    commands: ['systemctl disable --quiet keepalived', 'systemctl stop keepalived'],
  },
];

for (const c of CASES) {
  test(`planService: ${c.name}`, () => {
    const got = planService(c.args, c.have);
    if (c.summary === null) return assert.is(got, null);
    assert.is(got?.summary, c.summary);
    assert.equal(got!.commands.map(show), c.commands);
    assert.equal(got!.invalidates, [`service:${c.args.name}`]);
  });
}

test('service(): reads the unit fact and plans through it', () => {
  const op = service({ name: 'nginx' });
  assert.is(op.id, 'service nginx');
  assert.equal(op.facts.map((f) => f.id), ['service:nginx']);
  assert.is(op.plan({ get: <T>() => S(true, false) as T })!.summary, 'start nginx');
});

test('serviceHandler: validates with the given check, then reloads in place or restarts', () => {
  const reload = serviceHandler('nginx', 'reload', ['nginx', '-t']);
  assert.is(reload.id, 'reload nginx');
  assert.is(show(reload.validate), 'nginx -t');
  assert.is(show(reload.action), 'systemctl reload-or-restart nginx');
  const restart = serviceHandler('haproxy', 'restart', ['haproxy', '-c', '-f', '/etc/haproxy/haproxy.cfg']);
  assert.is(restart.id, 'restart haproxy');
  assert.is(show(restart.validate), 'haproxy -c -f /etc/haproxy/haproxy.cfg');
  assert.is(show(restart.action), 'systemctl restart haproxy');
  assert.is(serviceHandler('app', 'restart').validate, undefined);
  assert.is(serviceHandler('app', 'restart').ready, undefined);
  assert.is(show(serviceHandler('haproxy', 'reload', undefined, undefined, { listensOn: [80] }).ready), 'wait until :80 listen');
  assert.is(show(daemonReload.action), 'systemctl daemon-reload');
  // Its action changes what the unit's fact says (and so every fact that depends on it).
  assert.equal(restart.invalidates, ['service:haproxy']);
});

test.run();
