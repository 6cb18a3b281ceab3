// Secrets never show: not in their own string forms, not in commands, diffs, errors or reports;
// the store generates them once into a 0600 file, the environment wins, plan writes nothing.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { MASK, Redactor, Secret } from '../../src/secrets/secret.ts';
import { loadSecrets, SECRET_NAMES } from '../../src/secrets/store.ts';
import { describeCommand, runCommand } from '../../src/engine/commands.ts';
import { CommandError } from '../../src/errors.ts';
import { run } from '../../src/engine/run.ts';
import { file } from '../../src/ops/file.ts';
import type { EngineEvent } from '../../src/engine/events.ts';
import { LocalConnection, localHost, localOwner } from '../fixtures/local-connection.ts';

const VALUE = 'Zq7-pretend-db-password-0xF00D';

let dir = '';
test.before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-redaction-'));
});
test.after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

// ---- Secret and Redactor --------------------------------------------------------------------

test('Secret: string, template, JSON and inspect forms are masked; reveal() gives the value', () => {
  const s = new Secret(VALUE);
  assert.is(String(s), MASK);
  assert.is(`${s}`, MASK);
  assert.is(JSON.stringify({ password: s }), `{"password":"${MASK}"}`);
  assert.is(inspect(s), `Secret(${MASK})`);
  assert.is(inspect({ nested: { s } }, { depth: 5 }), `{ nested: { s: Secret(${MASK}) } }`);
  assert.not.match(inspect(s, { showHidden: true }), VALUE);
  assert.is(s.reveal(), VALUE);
});

test('Redactor: masks every occurrence, the longest secret whole, whatever its length', () => {
  const r = new Redactor([new Secret('abcd1234'), 'abcd1234-and-more', new Secret('xy')]);
  assert.is(r.redact('a=abcd1234 b=abcd1234-and-more c=abcd1234'), `a=${MASK} b=${MASK} c=${MASK}`);
  // The store refuses secrets under 12 characters; whatever it is given, the Redactor masks.
  assert.is(r.redact('xylophone'), `${MASK}lophone`);
  assert.is(new Redactor().redact('nothing to hide'), 'nothing to hide');
  assert.is(new Redactor(['']).redact('an empty secret masks nothing'), 'an empty secret masks nothing');
});

test('Redactor: a secret is masked in the forms it takes escaped: env file, option file, SQL, shell, JSON, URL', () => {
  const value = `p'a"s$s\\w&o<r>d é`;
  const r = new Redactor([new Secret(value)]);
  for (const form of [
    value,
    `p'a\\"s\\$s\\\\w&o<r>d é`, // systemd environment file
    `p'a\\"s$s\\\\w&o<r>d é`, // MySQL option file
    `p''a"s$s\\\\w&o<r>d é`, // SQL literal
    `p'\\''a"s$s\\w&o<r>d é`, // shell single quotes
    JSON.stringify(value).slice(1, -1), // JSON
    encodeURIComponent(value),
  ]) {
    assert.is(r.redact(`before ${form} after`), `before ${MASK} after`, form);
  }
});

// ---- Commands -------------------------------------------------------------------------------

test('describeCommand: a Secret on stdin and a secret in argv are masked', () => {
  const secret = new Secret(VALUE);
  const r = new Redactor([secret]);
  const exec = describeCommand({ kind: 'exec', argv: ['mysql', '-u', 'app', `--password=${VALUE}`], stdin: secret }, r);
  assert.is(exec, `mysql -u app --password=${MASK} < (stdin)`);
  const script = describeCommand({ kind: 'script', script: `echo ${VALUE}`, describe: `set password ${VALUE}`, stdin: secret }, r);
  assert.is(script, `set password ${MASK}`);
  const put = describeCommand({ kind: 'put', path: '/etc/app.env', content: secret, mode: '0600', owner: 'root', group: 'root' }, r);
  assert.is(put, 'write /etc/app.env (root:root 0600)');
});

test('runCommand: the secret reaches the command on stdin, and a failure message is masked', async () => {
  const secret = new Secret(VALUE);
  const r = new Redactor([secret]);
  const conn = new LocalConnection(localHost('h1'));
  const ok = await runCommand(conn, { kind: 'exec', argv: ['cat'], stdin: secret }, r);
  assert.is(ok.stdout, VALUE);
  try {
    await runCommand(conn, { kind: 'script', script: 'v=$(cat); echo "access denied for $v" >&2; exit 1', describe: 'log in', stdin: secret }, r);
    assert.unreachable('should fail');
  } catch (err) {
    assert.ok(err instanceof CommandError);
    assert.is(err.message, `h1: \`log in\` exited with 1: access denied for ${MASK}`);
    // The same facts as fields, for whoever reports them (the engine's host report, deploy, status).
    assert.equal([err.host, err.command, err.exitCode, err.stderr], ['h1', 'log in', 1, `access denied for ${MASK}\n`]);
  }
});

// ---- A plan run -----------------------------------------------------------------------------

test('plan: a file whose content holds a secret shows no secret in events or the report JSON', async () => {
  const secret = new Secret(VALUE);
  const redactor = new Redactor([secret]);
  const { owner, group } = localOwner();
  const envFile = path.join(dir, 'app.env');
  const cnf = path.join(dir, 'my.cnf');
  const wrapped = path.join(dir, 'wrapped.env');
  fs.writeFileSync(envFile, 'DB_PASSWORD=old-value-1234\n');
  const events: EngineEvent[] = [];
  const report = await run({
    mode: 'plan',
    hosts: [localHost('h1')],
    work: new Map([
      [
        'h1',
        [
          {
            phase: 'app',
            ops: [
              // Plain string content that embeds the secret: the diff would show it unless redacted.
              file({ path: envFile, content: `DB_HOST=127.0.0.1\nDB_PASSWORD=${secret.reveal()}\n`, mode: '0600', owner, group }),
              file({ path: cnf, content: `[client]\npassword=${secret.reveal()}\n`, mode: '0600', owner, group, sensitive: true }),
              file({ path: wrapped, content: secret, mode: '0600', owner, group }),
            ],
          },
        ],
      ],
    ]),
    connect: async (h) => new LocalConnection(h),
    redactor,
    emit: (e) => events.push(e),
  });
  const json = JSON.stringify(report);
  assert.is(report.summary.changed, 3);
  assert.not.ok(json.includes(VALUE), 'the secret is in the report');
  assert.not.ok(JSON.stringify(events).includes(VALUE), 'the secret is in an event');
  // The plan still tells the user what changes: the diff is there with the value masked.
  const envOp = report.hosts.h1!.ops[0]!;
  assert.match(envOp.diff!, `-DB_PASSWORD=old-value-1234`);
  assert.match(envOp.diff!, `+DB_PASSWORD=${MASK}`);
  assert.is(report.hosts.h1!.ops[1]!.diff, undefined);
  // Plan wrote nothing.
  assert.is(fs.readFileSync(envFile, 'utf8'), 'DB_PASSWORD=old-value-1234\n');
  assert.not.ok(fs.existsSync(cnf));
  assert.not.ok(fs.existsSync(wrapped));
});

// ---- The secrets store ----------------------------------------------------------------------

const mode = (f: string) => fs.statSync(f).mode & 0o777;

test('loadSecrets: first apply generates every secret into a 0600 file; the next run reuses them', async () => {
  const f = path.join(dir, 'first.secrets.yml');
  const one = await loadSecrets(f, { create: true, env: {} });
  assert.ok(fs.existsSync(f));
  assert.is(mode(f), 0o600);
  const text = fs.readFileSync(f, 'utf8');
  for (const name of SECRET_NAMES) {
    const v = one[name].reveal();
    assert.ok(v.length >= 16, `${name} is too short: ${v.length}`);
    assert.ok(text.includes(`${name}: ${v}`), `${name} not stored`);
  }
  const before = fs.statSync(f).mtimeMs;
  const two = await loadSecrets(f, { create: true, env: {} });
  for (const name of SECRET_NAMES) assert.is(two[name].reveal(), one[name].reveal(), `${name} changed`);
  assert.is(fs.statSync(f).mtimeMs, before, 'nothing new, so the file is not rewritten');
  // Every secret is distinct.
  assert.is(new Set(SECRET_NAMES.map((n) => one[n].reveal())).size, SECRET_NAMES.length);
});

test('loadSecrets: a store readable by others is made 0600 again', async () => {
  const f = path.join(dir, 'loose.secrets.yml');
  await loadSecrets(f, { create: true, env: {} });
  fs.chmodSync(f, 0o644);
  await loadSecrets(f, { create: true, env: {} });
  assert.is(mode(f), 0o600);
});

test('loadSecrets: the environment wins and is not written to the file', async () => {
  const f = path.join(dir, 'env.secrets.yml');
  const stored = await loadSecrets(f, { create: true, env: {} });
  const fromEnv = 'from-the-environment-1234';
  const got = await loadSecrets(f, { create: true, env: { TANDEM_SECRET_DB_APP_PASSWORD: fromEnv } });
  assert.is(got.db_app_password.reveal(), fromEnv);
  assert.is(got.db_replication_password.reveal(), stored.db_replication_password.reveal());
  assert.not.ok(fs.readFileSync(f, 'utf8').includes(fromEnv));

  const fresh = path.join(dir, 'fresh-env.secrets.yml');
  const g = await loadSecrets(fresh, { create: true, env: { TANDEM_SECRET_DB_APP_PASSWORD: fromEnv } });
  assert.is(g.db_app_password.reveal(), fromEnv);
  const text = fs.readFileSync(fresh, 'utf8');
  assert.not.ok(text.includes(fromEnv), 'an environment value was written to the store');
  assert.not.ok(/^db_app_password:/m.test(text), 'the environment-provided name was stored');
  assert.ok(text.includes(`db_replication_password: ${g.db_replication_password.reveal()}`));
});

test('loadSecrets: plan (create: false) writes nothing but still hands out values', async () => {
  const f = path.join(dir, 'plan.secrets.yml');
  const got = await loadSecrets(f, { create: false, env: {} });
  for (const name of SECRET_NAMES) assert.ok(got[name].reveal().length > 0);
  assert.not.ok(fs.existsSync(f), 'plan created the secrets file');
  // An existing store is read, not changed.
  const kept = await loadSecrets(f, { create: true, env: {} });
  const text = fs.readFileSync(f, 'utf8');
  const again = await loadSecrets(f, { create: false, env: {} });
  for (const name of SECRET_NAMES) assert.is(again[name].reveal(), kept[name].reveal());
  assert.is(fs.readFileSync(f, 'utf8'), text);
});

test('loadSecrets: a store that is not a map is refused with the file named', async () => {
  const f = path.join(dir, 'broken.secrets.yml');
  fs.writeFileSync(f, '- just\n- a list\n', { mode: 0o600 });
  try {
    await loadSecrets(f, { create: true, env: {} });
    assert.unreachable('should reject');
  } catch (err) {
    assert.is((err as Error).message, `${f}: must be a map of secret name to value`);
  }
});

test.run();
