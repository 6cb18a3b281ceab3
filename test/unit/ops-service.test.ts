// Services as a table: {wanted, systemd state} -> the systemctl commands a user would see.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { planService, service, serviceHandler, daemonReload, daemonReloadFor, type ServiceArgs } from '../../src/ops/service.ts';
import type { ServiceState } from '../../src/facts/service.ts';
import { describeCommand } from '../../src/engine/commands.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import type { Command } from '../../src/engine/types.ts';

const S = (enabled: boolean, active: boolean, needsDaemonReload = false): ServiceState => ({ exists: true, enabled, active, needsDaemonReload });
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
    have: { exists: false, enabled: false, active: false, needsDaemonReload: false },
    summary: null,
  },
  {
    name: 'stopped if installed, and it runs: disable and stop',
    args: { name: 'keepalived', enabled: false, running: false, onlyIfInstalled: true },
    have: S(true, true),
    summary: 'disable and stop keepalived',
    commands: ['systemctl disable --quiet keepalived', 'systemctl stop keepalived'],
  },
  {
    name: 'stopped, with its config check: the check runs before the first start',
    args: { name: 'nginx', validate: ['nginx', '-t', '-q'] },
    have: S(true, false),
    summary: 'start nginx',
    commands: ['nginx -t -q', 'systemctl start nginx'],
  },
  {
    name: 'running, with its config check: nothing (the handler checks before a reload)',
    args: { name: 'nginx', validate: ['nginx', '-t', '-q'] },
    have: S(true, true),
    summary: null,
  },
  {
    name: 'stopping does not check the config',
    args: { name: 'apache2', enabled: false, running: false, validate: ['apache2ctl', 'configtest'] },
    have: S(false, true),
    summary: 'stop apache2',
    commands: ['systemctl stop apache2'],
  },
  {
    name: 'stopped, its unit file changed since systemd loaded it: daemon-reload first, so the start uses the file on disk',
    args: { name: 'tandem-app' },
    have: S(true, false, true),
    summary: 'start tandem-app',
    commands: ['systemctl daemon-reload', 'systemctl start tandem-app'],
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

// The handler's action with configFiles, run by the local sh against a stand-in systemctl that
// answers from the table and records what it was asked to do.
const HANDLER_CASES: { name: string; active: boolean; needReload?: string; began?: string; files: { name: string; mtime: string }[]; ran: string }[] = [
  { name: 'started after every file changed: nothing to do (first apply on a fresh host)', active: true, began: '2026-11-30 10:00:05.000002 UTC', files: [{ name: 'a.conf', mtime: '2026-11-30 10:00:05.000001' }, { name: 'b.conf', mtime: '2026-11-30 09:00:00' }], ran: '' },
  { name: 'a file changed after the start, by a microsecond: restart', active: true, began: '2026-11-30 10:00:05.000002 UTC', files: [{ name: 'a.conf', mtime: '2026-11-30 10:00:05.000003' }], ran: 'restart svc' },
  { name: 'the same microsecond: restart (cannot tell which came first)', active: true, began: '2026-11-30 10:00:05.000002 UTC', files: [{ name: 'a.conf', mtime: '2026-11-30 10:00:05.000002' }], ran: 'restart svc' },
  { name: 'not running: restart (starts it)', active: false, began: '2026-11-30 10:00:05 UTC', files: [{ name: 'a.conf', mtime: '2026-11-30 09:00:00' }], ran: 'restart svc' },
  { name: 'unit file newer than what systemd loaded: restart', active: true, needReload: 'yes', began: '2026-11-30 10:00:05 UTC', files: [{ name: 'a.conf', mtime: '2026-11-30 09:00:00' }], ran: 'restart svc' },
  { name: 'start time unknown (an older systemd): restart', active: true, began: '', files: [{ name: 'a.conf', mtime: '2026-11-30 09:00:00' }], ran: 'restart svc' },
  { name: 'a config file missing: restart', active: true, began: '2026-11-30 10:00:05 UTC', files: [{ name: 'gone.conf', mtime: '' }], ran: 'restart svc' },
];

function runHandlerAction(c: (typeof HANDLER_CASES)[number]): { code: number | null; ran: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'tandem-handler-'));
  const log = path.join(dir, 'ran');
  writeFileSync(
    path.join(dir, 'systemctl'),
    `#!/bin/sh
case "$1" in
  is-active) ${c.active ? 'exit 0' : 'exit 3'} ;;
  show) case "$3" in NeedDaemonReload) echo ${c.needReload ?? 'no'} ;; InactiveExitTimestamp) echo '${c.began ?? ''}' ;; esac ;;
  *) echo "$*" >> ${log} ;;
esac
`,
    { mode: 0o755 },
  );
  const files = c.files.map((f) => path.join(dir, f.name));
  for (const f of c.files) {
    if (!f.mtime) continue;
    writeFileSync(path.join(dir, f.name), 'x');
    execFileSync('touch', ['-d', f.mtime, path.join(dir, f.name)]);
  }
  const action = serviceHandler('svc', 'restart', undefined, undefined, { configFiles: files }).action as Extract<Command, { kind: 'script' }>;
  const res = spawnSync('sh', ['-c', action.script], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, TZ: 'UTC' } });
  const ran = existsSync(log) ? readFileSync(log, 'utf8').trim() : '';
  rmSync(dir, { recursive: true, force: true });
  return { code: res.status, ran };
}

for (const c of HANDLER_CASES) {
  test(`serviceHandler with configFiles: ${c.name}`, () => {
    assert.equal(runHandlerAction(c), { code: 0, ran: c.ran });
  });
}

test('serviceHandler with configFiles: the action names the files it compares', () => {
  const h = serviceHandler('nginx', 'reload', ['nginx', '-t'], undefined, { configFiles: ['/etc/nginx/sites-enabled/tandem.conf'] });
  assert.is(show(h.action), 'systemctl reload-or-restart nginx (unless it started after /etc/nginx/sites-enabled/tandem.conf changed)');
  assert.is(show(h.validate), 'nginx -t', 'validation stays unconditional');
  const d = daemonReloadFor('tandem-app');
  assert.is(d.id, daemonReload.id, 'the same handler, notified by the same name');
  assert.is(show(d.action), 'systemctl daemon-reload (unless tandem-app is loaded as it is on disk)');
});

test.run();
