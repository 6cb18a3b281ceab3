// The secrets store as a table: values from TANDEM_SECRET_* or the secrets file arrive exactly as
// given, whatever printable characters they hold; the values it cannot use are refused before any
// connection, with an error that names the secret and never shows the value.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { envName, loadSecrets, SECRET_NAMES, type SecretName } from '../../src/secrets/store.ts';
import { SecretsError } from '../../src/errors.ts';
import { SPECIAL_PASSWORDS } from '../fixtures/special-values.ts';

let dir = '';
test.before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-secrets-'));
});
test.after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** A secrets file with this text (or none), and the store read from it with this environment. */
async function load(text: string | undefined, env: Record<string, string> = {}) {
  const file = path.join(dir, `s${n++}.secrets.yml`);
  if (text !== undefined) fs.writeFileSync(file, text, { mode: 0o600 });
  return { file, secrets: await loadSecrets(file, { create: true, env }) };
}

async function refusal(text: string | undefined, env: Record<string, string> = {}): Promise<{ message: string; file: string }> {
  const file = path.join(dir, `s${n++}.secrets.yml`);
  if (text !== undefined) fs.writeFileSync(file, text, { mode: 0o600 });
  try {
    await loadSecrets(file, { create: true, env });
  } catch (err) {
    assert.instance(err, SecretsError);
    return { message: (err as Error).message, file };
  }
  assert.unreachable('the store accepted it');
  throw new Error('unreachable');
}

const yamlOf = (values: Partial<Record<SecretName, unknown>>) => stringify(values);

test('every special password arrives intact, from the environment and from the file', async () => {
  const env = Object.fromEntries(SECRET_NAMES.map((name) => [envName(name), SPECIAL_PASSWORDS[name]]));
  const fromEnv = await load(undefined, env);
  const fromFile = await load(yamlOf(SPECIAL_PASSWORDS));
  for (const name of SECRET_NAMES) {
    assert.is(fromEnv.secrets[name].reveal(), SPECIAL_PASSWORDS[name], `${name} from the environment`);
    assert.is(fromFile.secrets[name].reveal(), SPECIAL_PASSWORDS[name], `${name} from the file`);
  }
  assert.not.ok(fs.existsSync(fromEnv.file), 'nothing was generated, so nothing was written');
});

test('a file written by hand, quoted the YAML way, gives the value between the quotes', async () => {
  const { secrets } = await load(
    [
      `db_app_password: 'it''s "quoted" $HOME \\ &<> #;{} é日本'`,
      `db_replication_password: "double \\"quoted\\" \\\\ é"`,
      'db_verify_password: plain-but-long-enough-é日本',
      '',
    ].join('\n'),
  );
  assert.is(secrets.db_app_password.reveal(), `it's "quoted" $HOME \\ &<> #;{} é日本`);
  assert.is(secrets.db_replication_password.reveal(), 'double "quoted" \\ é');
  assert.is(secrets.db_verify_password.reveal(), 'plain-but-long-enough-é日本');
});

test('the environment wins over the file; what neither gives is generated and stored, as before', async () => {
  const { file, secrets } = await load(yamlOf({ db_app_password: 'from the file, long enough' }), { TANDEM_SECRET_DB_APP_PASSWORD: 'from the environment!' });
  assert.is(secrets.db_app_password.reveal(), 'from the environment!');
  const stored = fs.readFileSync(file, 'utf8');
  assert.match(stored, /^db_app_password: from the file, long enough$/m);
  assert.match(stored, new RegExp(`^db_verify_password: ${secrets.db_verify_password.reveal()}$`, 'm'));
});

// [case, file text or undefined, environment, secret named in the message, the part of the message that says why]
const REFUSED: [string, string | undefined, Record<string, string>, string, RegExp][] = [
  ['a newline, from the environment', undefined, { TANDEM_SECRET_DB_APP_PASSWORD: 'first line\nsecond line!' }, 'TANDEM_SECRET_DB_APP_PASSWORD', /control character \(U\+000A\)/],
  ['a NUL, from the environment', undefined, { TANDEM_SECRET_DB_VERIFY_PASSWORD: 'nul in the\0middle!!' }, 'TANDEM_SECRET_DB_VERIFY_PASSWORD', /control character \(U\+0000\)/],
  ['a tab, from the file', yamlOf({ db_app_password: 'tab\tin the middle' }), {}, 'db_app_password', /control character \(U\+0009\)/],
  ['an escape sequence, from the file', yamlOf({ db_verify_password: 'colour \x1b[31m red!' }), {}, 'db_verify_password', /control character \(U\+001B\)/],
  ['DEL, from the file', yamlOf({ db_app_password: 'delete\x7fcharacter' }), {}, 'db_app_password', /control character \(U\+007F\)/],
  ['a C1 control, from the environment', undefined, { TANDEM_SECRET_DB_APP_PASSWORD: 'next line\u0085here!' }, 'TANDEM_SECRET_DB_APP_PASSWORD', /control character \(U\+0085\)/],
  ['11 characters, from the environment', undefined, { TANDEM_SECRET_DB_APP_PASSWORD: 'elevenchars' }, 'TANDEM_SECRET_DB_APP_PASSWORD', /shorter than 12 characters/],
  ['empty, from the environment', undefined, { TANDEM_SECRET_DB_REPLICATION_PASSWORD: '' }, 'TANDEM_SECRET_DB_REPLICATION_PASSWORD', /shorter than 12 characters/],
  ['11 multi-byte characters, from the file', yamlOf({ db_app_password: '日本語日本語日本語日本' }), {}, 'db_app_password', /shorter than 12 characters/],
  ['a number, from the file', 'db_app_password: 123456789012345\n', {}, 'db_app_password', /must be text, and is a number/],
  ['true, from the file', 'db_verify_password: true\n', {}, 'db_verify_password', /must be text, and is a boolean/],
  ['no value, from the file', 'db_app_password:\n', {}, 'db_app_password', /must be text, and is empty/],
  ['a list, from the file', 'db_app_password: [correct, horse, battery]\n', {}, 'db_app_password', /must be text, and is a list/],
  ['a map, from the file', 'db_app_password: { a: correct-horse-battery }\n', {}, 'db_app_password', /must be text, and is a map/],
  ['a replication password over 32 characters', undefined, { TANDEM_SECRET_DB_REPLICATION_PASSWORD: 'r'.repeat(33) }, 'TANDEM_SECRET_DB_REPLICATION_PASSWORD', /longer than 32 characters/],
  ['an emoji in the replication password', yamlOf({ db_replication_password: 'smile 😀 please!' }), {}, 'db_replication_password', /outside the Basic Multilingual Plane/],
  ['a byte order mark', undefined, { TANDEM_SECRET_DB_APP_PASSWORD: 'byte order \ufeff mark' }, 'TANDEM_SECRET_DB_APP_PASSWORD', /noncharacter U\+FEFF/],
];

for (const [name, text, env, secret, why] of REFUSED) {
  test(`refused: ${name}`, async () => {
    const { message, file } = await refusal(text, env);
    assert.ok(message.includes(secret), `names ${secret}: ${message}`);
    assert.match(message, why);
    if (text !== undefined && !secret.startsWith('TANDEM_')) assert.ok(message.startsWith(`${file}: ${secret}: `), message);
    const values = [...Object.values(env), ...(text === undefined ? [] : text.split('\n').map((l) => l.slice(l.indexOf(':') + 1).trim()))].filter((v) => v.length > 1);
    for (const v of values) assert.not.ok(message.includes(v), `the message shows the value: ${message}`);
    assert.not.ok(fs.existsSync(file) && text === undefined, 'nothing was written');
  });
}

test('every problem is listed, each with its secret', async () => {
  const { message } = await refusal(yamlOf({ db_app_password: 'short' }), { TANDEM_SECRET_DB_VERIFY_PASSWORD: 'bad\nvalue-long-enough' });
  assert.is(message.split('\n').length, 2);
  assert.match(message, /db_app_password: is shorter than 12/);
  assert.match(message, /TANDEM_SECRET_DB_VERIFY_PASSWORD: holds a control character/);
});

test('a YAML error names file, line and column, and never echoes the line (it may hold a password)', async () => {
  const cases = [
    `db_app_password: 'unterminated secret-value-1\n`,
    `db_app_password: secret-value-2 : more\n`,
    `db_app_password: first-secret-3\ndb_app_password: second-secret-4\n`,
    `  db_app_password: secret-value-5\n bad: indent-6\n`,
    `db_app_password: *secret-alias-7\n`,
  ];
  for (const text of cases) {
    const { message, file } = await refusal(text);
    assert.ok(message.startsWith(`${file}: `), message);
    assert.match(message, /not valid YAML/);
    for (const word of text.split(/[\s:'*]+/).filter((w) => /secret|indent/.test(w))) assert.not.ok(message.includes(word), `echoes ${word}: ${message}`);
  }
  const { message, file } = await refusal(`db_app_password: first-value-long\ndb_app_password: second-value-long\n`);
  assert.is(message, `${file}: line 2, column 1: not valid YAML (DUPLICATE_KEY); quote each value: 'like this', a ' inside written twice`);
});

test.run();
