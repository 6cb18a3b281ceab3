// Exit codes and error reports: decided by the error's class (subclasses inherit), shown without a
// stack unless it is a bug, secrets masked, and listed under every verb's --help.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import * as E from '../../src/errors.ts';
import { classify, errorReport, EXIT, finish, outcomeOf, printError, worse } from '../../src/cli/exit.ts';
import { Redactor, Secret } from '../../src/secrets/secret.ts';
import { Capture, main } from '../fixtures/cli.ts';

const streams = () => {
  const stdout = new Capture();
  const stderr = new Capture();
  return { stdout, stderr, io: { stdout: stdout.stream, stderr: stderr.stream } };
};

class LostMidRun extends E.ConnectionError {}

test('each error class has its kind and exit code; subclasses inherit theirs', () => {
  const table: [Error, string, number][] = [
    [new E.InventoryError(['inv.yml: db.name: reserved']), 'inventory', 4],
    [new E.SecretsError('db_app_password: too short'), 'secrets', 4],
    [new E.UsageError('--limit: unknown host'), 'usage', 4],
    [new E.InputError('--source: no package.json'), 'input', 4],
    [new E.UnreachableError('web-01 is unreachable'), 'unreachable', 3],
    [new E.AuthenticationError('web-01: authentication failed'), 'authentication', 3],
    [new E.HostKeyError('web-01: host key CHANGED'), 'host-key', 3],
    [new E.ConnectionError('web-01: lost the connection'), 'connection-lost', 1],
    [new LostMidRun('web-01: gone'), 'connection-lost', 1],
    [new E.ConnectionLostError({ host: 'web-01', command: 'apt-get install nginx', server: 'silent' }), 'connection-lost', 1],
    [new E.RunLockedError('web-01: another tandem run holds the run lock', { host: 'web-01', holder: 'ops@ctl (apply, pid 9)' }), 'locked', 75],
    [new E.CommandError({ host: 'web-01', command: 'nginx -t', exitCode: 1, stderr: 'bad' }), 'command', 1],
    [new E.CommandTimeoutError({ host: 'web-02', command: 'apt-get update', seconds: 20 }), 'command', 1],
    [new E.TemplateError('nginx/site.conf.ejs:3: x is not defined'), 'template', 1],
    [new E.ValidationError('nginx -t failed'), 'validation', 1],
    [new E.VerificationError('1 check failed'), 'verification', 1],
    [new E.HostFailedError('web-01: failed'), 'failed', 1],
    [new E.LabError('the lab needs root', { hint: 'run as root' }), 'lab', 1],
    [new E.TandemError('something foreseeable'), 'failed', 1],
    [new E.InterruptedError('interrupted'), 'interrupted', 130],
    [Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: 'EACCES', syscall: 'open' }), 'system', 1],
    [new TypeError("Cannot read properties of undefined (reading 'x')"), 'internal', 1],
  ];
  for (const [err, kind, code] of table) assert.equal(classify(err), { kind, code }, `${err.constructor.name}: ${err.message}`);
  assert.equal(classify('a string'), { kind: 'internal', code: 1 });
});

test('--json: the reason goes to stderr beside the document, even when the text renderer would have said it', () => {
  const failure = new E.HostFailedError('web-02: `apt-get install nginx` exited with 100', { host: 'web-02' });
  for (const json of [false, true]) {
    const { stdout, stderr, io } = streams();
    const ctx = { ...io, env: {}, json, onInterrupt: () => () => undefined };
    const code = finish(ctx, outcomeOf({ hosts: {} }, [failure]));
    assert.is(code, 1);
    // Text mode: the verb's own output already named the failure (outcomeOf says told).
    assert.is(stderr.text.includes('apt-get install nginx'), json, `json=${json}: ${stderr.text}`);
    if (json) assert.is(JSON.parse(stdout.text).error.host, 'web-02');
  }
  // Commander prints its own usage errors in both modes: said once.
  const { stderr, io } = streams();
  finish({ ...io, env: {}, json: true, onInterrupt: () => () => undefined }, { code: 4, error: new E.UsageError('unknown option'), told: 'always' });
  assert.not.match(stderr.text, /unknown option/);
});

test('several failures: the code is the first of 130, 4, 75, 3, 1, 2, 0', () => {
  assert.is(worse(EXIT.failed, EXIT.unreachable), EXIT.unreachable);
  assert.is(worse(EXIT.unreachable, EXIT.locked), EXIT.locked);
  assert.is(worse(EXIT.locked, EXIT.input), EXIT.input);
  assert.is(worse(EXIT.unreachable, EXIT.failed), EXIT.unreachable);
  assert.is(worse(EXIT.changes, EXIT.failed), EXIT.failed);
  assert.is(worse(EXIT.input, EXIT.interrupted), EXIT.interrupted);
  const report = { hosts: {} };
  assert.equal(outcomeOf(report, [], { changes: true }), { code: 2, report });
  assert.equal(outcomeOf(report, []).code, 0);
  const unreachable = new E.UnreachableError('web-02 is unreachable', { host: 'web-02' });
  const out = outcomeOf(report, [new E.HostFailedError('web-01: apt failed'), unreachable], { changes: true });
  assert.is(out.code, 3);
  assert.is(out.error, unreachable);
});

test('the JSON error: kind, message, host, hint and exit code, secrets masked', () => {
  const redactor = new Redactor([new Secret('S3cret-Value-123456')]);
  const err = new E.HostKeyError('web-01: refused S3cret-Value-123456', { host: 'web-01', hint: 'never S3cret-Value-123456' });
  assert.equal(errorReport(err, { redactor }), {
    kind: 'host-key',
    message: 'web-01: refused ********',
    host: 'web-01',
    hint: 'never ********',
    exitCode: 3,
  });
  const cause = new Error('low level');
  assert.is(new E.InventoryError(['x'], { cause }).cause, cause, 'errors keep their cause');
});

test('printed: the message and what to do; a stack only for a bug; a system error points at TANDEM_DEBUG', () => {
  const s = streams();
  printError(new E.LabError('the lab is not up', { hint: 'run `tandem lab up` first' }), { stderr: s.io.stderr, env: {} });
  assert.is(s.stderr.text, 'error: the lab is not up\n  what to do: run `tandem lab up` first\n');

  const sys = streams();
  const errno = Object.assign(new Error("EACCES: permission denied, mkdir '/var/x'"), { code: 'EACCES', syscall: 'mkdir' });
  printError(errno, { stderr: sys.io.stderr, env: {} });
  assert.is(sys.stderr.text, "error: EACCES: permission denied, mkdir '/var/x'\n  (set TANDEM_DEBUG=1 to see where it came from)\n");

  const bug = streams();
  printError(new TypeError('x is undefined'), { stderr: bug.io.stderr, env: {} });
  assert.match(bug.stderr.text, /^internal error \(please report\): TypeError: x is undefined\n\s+at /);
});

test('every verb lists the exit codes in its --help, and --help exits 0', async () => {
  const verbs = [['plan'], ['apply'], ['verify'], ['deploy'], ['rollback'], ['status'], ['demo'], ['lab'], ['lab', 'up'], ['lab', 'down'], ['lab', 'reset'], ['lab', 'status'], ['lab', 'ssh']];
  for (const verb of verbs) {
    const s = streams();
    const code = await main([...verb, '--help'], { ...s.io, env: {} });
    assert.is(code, 0, verb.join(' '));
    assert.match(s.stdout.text, /Exit codes:\n  0 +success\n  1 +a change or check failed on a host.*\n  2 +plan: changes to apply\n  3 +a host could not be reached or authenticated.*\n  4 +invalid input.*\n  5 +status: degraded.*\n  6 +status: down.*\n  75 +another tandem run holds a host's run lock.*\n  130 +interrupted/, verb.join(' '));
  }
});

test('a lab failure prints its hint, exits 1 and is no "internal error" (JSON too)', async () => {
  // An inventory whose lab state folder is empty: `lab reset` finds no lab (or, without root,
  // stops at the preflight); either way a LabError with a hint.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-labhint-'));
  try {
    const file = path.join(dir, 'lab.yml');
    fs.writeFileSync(
      file,
      stringify({
        name: 'hint',
        domain: 'www.hint.test',
        ssh: { key: 'id_lab' },
        lab: { bridge: 'tandemhint', gateway: '10.79.0.1/24', cache: path.join(dir, 'cache'), state: path.join(dir, 'state') },
        hosts: { 'web-01': { address: '10.79.0.11', roles: ['lb', 'web', 'app', 'db-primary'] } },
      }),
    );
    const s = streams();
    const code = await main(['lab', 'reset', '-i', file], { ...s.io, env: {} });
    assert.is(code, 1, s.stderr.text);
    assert.match(s.stderr.text, /^error: (the lab is not up|the lab needs root.*)\n  what to do: \S/);
    assert.not.match(s.stderr.text, /internal error|\n\s+at /);
    const j = streams();
    assert.is(await main(['lab', 'reset', '--json', '-i', file], { ...j.io, env: {} }), 1);
    const doc = JSON.parse(j.stdout.text);
    assert.equal([doc.exitCode, doc.error.kind, typeof doc.error.hint], [1, 'lab', 'string']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
