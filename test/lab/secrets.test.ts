// Issue 8 on real lab servers: every password set through TANDEM_SECRET_* to a value full of
// special characters (quotes of both kinds, $, backslash, & < >, spaces, #, ;, non-ASCII). From
// pristine servers, apply builds the stack and verify passes: the app logs in with its password,
// replication runs with its own, the canary arrives. No secret, in any form, shows in any output.
// Then each format writer is checked against the program that reads its format.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { labInventoryPath, resetHosts, sshExec } from './harness.ts';
import { tandem, type Ran } from './tandem.ts';
import { probeResults, probeScript } from './format-probe.ts';
import { SPECIAL_CHARACTERS, SPECIAL_PASSWORDS, SPECIAL_VALUES } from '../fixtures/special-values.ts';
import { secretForms } from '../../src/secrets/secret.ts';
import { envName, SECRET_NAMES } from '../../src/secrets/store.ts';
import { nativePasswordHash } from '../../src/ops/mysql/password-hash.ts';

const HOSTS = ['web-01', 'web-02'];
const ENV = Object.fromEntries(SECRET_NAMES.map((n) => [envName(n), SPECIAL_PASSWORDS[n]]));
/** A wrong verify password, special too: it must not show in verify's failure either. */
const WRONG_VERIFY = `Wr0ng "verify" 'pw' $x \\ &<> #; é日本`;
const FORBIDDEN = [...Object.values(SPECIAL_PASSWORDS), WRONG_VERIFY].flatMap(secretForms);

/** The CLI on this lab's inventory with the special passwords; fails if any output holds a secret. */
function cli(args: string[], env: Record<string, string> = ENV): Ran {
  const r = tandem([...args, '-i', labInventoryPath], env);
  for (const [stream, text] of [['stdout', r.stdout], ['stderr', r.stderr]] as const) {
    const leaked = FORBIDDEN.find((f) => text.includes(f));
    assert.is(leaked, undefined, `tandem ${args.join(' ')}: ${stream} holds a secret (or an escaped form of one)`);
  }
  return r;
}

function cliJson(args: string[], env: Record<string, string> = ENV): { code: number; json: any; stderr: string } {
  const r = cli([...args, '--json'], env);
  try {
    return { code: r.code, json: JSON.parse(r.stdout), stderr: r.stderr };
  } catch {
    throw new Error(`tandem ${args.join(' ')} printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

async function onHost(host: string, command: string): Promise<string> {
  const r = await sshExec(host, command);
  assert.is(r.code, 0, `${host}: ${command}: ${r.stderr}`);
  return r.stdout;
}

test.before(async () => {
  await resetHosts(HOSTS);
});

// The servers now hold passwords the lab's secrets file does not: leave them pristine for the next file.
test.after(async () => {
  await resetHosts(HOSTS);
});

test(`apply on pristine servers, every password set through TANDEM_SECRET_* to one holding ${SPECIAL_CHARACTERS}`, () => {
  const r = cliJson(['apply']);
  assert.is(r.code, 0, r.stderr + JSON.stringify(r.json.summary));
  assert.is(r.json.summary.failed, 0);
  const replica = r.json.hosts['web-02'].ops.find((o: any) => o.op === 'mysql replication from web-01');
  assert.is(replica?.status, 'changed', 'the replica was seeded with the replication password');
});

test('verify passes: the app logs in with its password, replication runs with its own, the canary arrives', () => {
  const r = cliJson(['verify']);
  const failed = r.json.checks.filter((c: any) => !c.ok);
  assert.equal(failed, [], JSON.stringify(failed));
  const names = new Set(r.json.checks.map((c: any) => c.check));
  for (const check of ['the app answers its health endpoint', 'replication threads run without errors', 'a canary row written on the primary is read on the replica']) {
    assert.ok(names.has(check), `verify ran "${check}"`);
  }
  assert.is(r.code, 0);
});

test('each password is what the programs got: the app environment from systemd, the account hashes, the replica', async () => {
  for (const host of HOSTS) {
    const environ = await onHost(host, 'cat /proc/$(systemctl show -P MainPID tandem-app)/environ');
    const vars = new Map(environ.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    assert.is(vars.get('DB_PASSWORD'), SPECIAL_PASSWORDS.db_app_password, `${host}: the app's DB_PASSWORD`);
  }
  const accounts = await onHost('web-01', `mysql -N -B -e "SELECT user, authentication_string FROM mysql.user WHERE user IN ('app', 'tandem_repl', 'tandem_verify')"`);
  const want: Record<string, string> = {
    app: SPECIAL_PASSWORDS.db_app_password,
    tandem_repl: SPECIAL_PASSWORDS.db_replication_password,
    tandem_verify: SPECIAL_PASSWORDS.db_verify_password,
  };
  const rows = accounts.trim().split('\n').map((l) => l.split('\t'));
  assert.ok(rows.length >= 4, accounts);
  for (const [user, hash] of rows) assert.is(hash, nativePasswordHash(want[user!]!), `the hash of ${user}`);
  // MariaDB keeps the replication password in master.info, one line each: line 6.
  assert.is((await onHost('web-02', 'sed -n 6p /var/lib/mysql/master.info')).replace(/\n$/, ''), SPECIAL_PASSWORDS.db_replication_password);
});

test('a second apply changes nothing and plan finds nothing: the stored passwords match', () => {
  const r = cliJson(['apply']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.summary.changed, 0, JSON.stringify(r.json.hosts, null, 1).slice(0, 2000));
  assert.is(cli(['plan']).code, 0);
  assert.is(cli(['status']).code, 0);
});

test('a wrong verify password fails verify by name, and shows neither password', () => {
  const r = cliJson(['verify'], { ...ENV, TANDEM_SECRET_DB_VERIFY_PASSWORD: WRONG_VERIFY });
  assert.is.not(r.code, 0);
  assert.ok(r.json.checks.some((c: any) => !c.ok && /denied/i.test(JSON.stringify(c))), JSON.stringify(r.json.checks));
});

test('a secret the store cannot use is refused by name, and not shown', () => {
  const r = cli(['plan'], { ...ENV, TANDEM_SECRET_DB_APP_PASSWORD: 'two\nlines of it' });
  assert.is.not(r.code, 0);
  assert.match(r.stderr + r.stdout, /TANDEM_SECRET_DB_APP_PASSWORD: holds a control character \(U\+000A\)/);
  assert.not.match(r.stderr + r.stdout, /lines of it/);
});

test('each writer against its own program on web-01: systemd, MariaDB options and SQL, apt, Nginx, HAProxy, keepalived', async () => {
  const accepts = (write: (v: string) => string, v: string) => {
    try {
      write(v);
      return true;
    } catch {
      return false;
    }
  };
  await onHost('web-01', 'command -v keepalived >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q keepalived >/dev/null');
  const { script, cases } = probeScript(SPECIAL_VALUES, accepts);
  const r = await sshExec('web-01', 'sh', { input: script });
  assert.is(r.code, 0, r.stderr);
  const results = probeResults(r.stdout);
  const wrong = cases.flatMap((c) => {
    const want = c.index >= 0 ? SPECIAL_VALUES[c.index] : c.format === 'unit-description' ? 'tandem probe %n 100% ok' : 'ok';
    const got = results.get(c.format)?.get(c.index);
    return got === want ? [] : [`${c.format} #${c.index}: wrote ${JSON.stringify(want)}, the program read ${JSON.stringify(got)}`];
  });
  assert.equal(wrong, []);
  const formats = new Set(cases.map((c) => c.format));
  console.log(`    ${cases.length} values read back by ${[...formats].join(', ')}`);
});

test.run();
