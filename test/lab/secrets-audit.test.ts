// Secrets audit on real lab servers: every verb (plan, apply, verify, status, deploy, rollback)
// and their failure paths run with the three secrets set through TANDEM_SECRET_* to known values
// (the special characters of secrets.test.ts and a per-run token), plus a wrong verify password, and none of them shows
// up, as it is or in any escaped form (secretForms: env file, option file, SQL, shell word, JSON,
// URL), in any of these channels:
//   1. stdout and stderr of every CLI run, in text (--verbose) and --json modes;
//   2. the --json reports (they are the stdout of the --json runs, parsed as well);
//   3. the command lines run on the servers, captured for real: root's login shell on each server
//      is a wrapper that logs its arguments (sshd runs `$SHELL -c "<command>"`, what `ps` shows)
//      before running them with the original shell, restored at the end;
//   4. the files the run writes on the control machine: every regular file created or changed
//      during the audit under the inventory's folder, the lab state folder (the servers' disks
//      in it aside), the release cache and the temporary folder, except the inventory's 0600
//      secrets store (where secrets belong).
// Each channel is shown able to catch a leak first: a marker command is found in the captured
// command lines, and a planted file is found by the file scan.
//   5. the database servers' binary and relay logs (a CREATE or ALTER USER is logged as sent).
// Not covered: what the servers keep otherwise (the app's 0600 env file holds its password by design),
// stdin (where secrets are meant to go), and what is inside compressed files.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appVersion, brokenNginxTemplates, LAB, LAB_INVENTORY, tandem, type Ran } from './tandem.ts';
import { resetHosts, sshOk } from './harness.ts';
import { SPECIAL_PASSWORDS } from '../fixtures/special-values.ts';
import { secretForms } from '../../src/secrets/secret.ts';
import { envName, SECRET_NAMES } from '../../src/secrets/store.ts';
import { releaseCacheDir } from '../../src/release/prepare.ts';
import { APP_CURRENT } from '../../src/stack/names.ts';

const HOSTS = ['web-01', 'web-02'];
/** This run's own: a form found anywhere was written by this run. Short, for the replication password's 32 characters. */
const TOKEN = randomBytes(4).toString('hex');
const SECRETS = Object.fromEntries(SECRET_NAMES.map((n) => [n, `${SPECIAL_PASSWORDS[n]} ${TOKEN}`])) as Record<(typeof SECRET_NAMES)[number], string>;
const ENV = Object.fromEntries(SECRET_NAMES.map((n) => [envName(n), SECRETS[n]]));
const WRONG_VERIFY = `Wrong "verify" 'pw' $x \\ &<> audit-${TOKEN}-wrong`;
const FORMS = [...Object.values(SECRETS), WRONG_VERIFY].flatMap(secretForms);

/** The first form of a secret found in `text`, if any (named by which secret it is). */
function leakIn(text: string): string | undefined {
  for (const [name, value] of [...Object.entries(SECRETS), ['wrong verify password', WRONG_VERIFY] as const]) {
    if (secretForms(value).some((f) => text.includes(f))) return name;
  }
  return undefined;
}

const started = Date.now();
const runs: string[] = [];

/** The CLI with the audit's secrets; fails if stdout or stderr (or the JSON report) holds one. */
function cli(args: string[], want: number, env: Record<string, string> = ENV): Ran {
  const r = tandem(args, env);
  runs.push(`${args.join(' ')} -> ${r.code}`);
  for (const [stream, text] of [['stdout', r.stdout], ['stderr', r.stderr]] as const) {
    const leaked = leakIn(text);
    assert.is(leaked, undefined, `tandem ${args.join(' ')}: ${stream} holds ${leaked}`);
  }
  if (args.includes('--json')) {
    const report = JSON.parse(r.stdout);
    assert.is(leakIn(JSON.stringify(report)), undefined, `tandem ${args.join(' ')}: the JSON report`);
  }
  assert.is(r.code, want, `tandem ${args.join(' ')} exit code\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  return r;
}

const AUDIT_SHELL = '/usr/local/sbin/tandem-audit-shell';
const COMMAND_LOG = '/var/log/tandem-audit-commands.log';
const originalShell: Record<string, string> = {};

/** Root's login shell on `host` becomes a wrapper logging each command line sshd hands it. */
async function captureCommandLines(host: string): Promise<void> {
  const shell = (await sshOk(host, 'getent passwd root | cut -d: -f7')).trim();
  assert.ok(shell.startsWith('/'), `${host}: root's shell: ${shell}`);
  originalShell[host] = shell;
  const wrapper = `#!/bin/sh\n# The secrets audit: log the arguments sshd gives the login shell, then run them as before.\nprintf '%s\\n' "$*" >> ${COMMAND_LOG}\nexec ${shell} "$@"\n`;
  await sshOk(host, `cat > ${AUDIT_SHELL} && chmod 755 ${AUDIT_SHELL} && : > ${COMMAND_LOG} && usermod -s ${AUDIT_SHELL} root`, { input: wrapper });
}

/** Regular files under `dir` created or changed since the audit started (symlinks not followed). */
function changedFiles(dir: string, skip: Set<string>, out: string[] = []): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out; // a folder that vanished meanwhile, or one that is not there (no release cache yet)
  }
  for (const name of entries) {
    const file = path.join(dir, name);
    if (skip.has(file) || name === 'node_modules' || name === '.git') continue;
    let st;
    try {
      st = lstatSync(file);
    } catch {
      continue; // removed while we walked
    }
    if (st.isDirectory()) changedFiles(file, skip, out);
    else if (st.isFile() && Math.max(st.mtimeMs, st.ctimeMs) >= started - 1000) out.push(file);
  }
  return out;
}

function scanControlMachine(): { scanned: number; leaks: string[] } {
  const roots = [path.dirname(LAB_INVENTORY), LAB.lab!.stateDir, releaseCacheDir(), os.tmpdir()];
  // The servers' own disks live in the state folder too (overlay upper, work and merged root):
  // what a server keeps is not a file the control machine writes, and holds secrets by design.
  const disks = LAB.hosts.flatMap((h) => ['root', 'upper', 'work'].map((d) => path.join(LAB.lab!.stateDir, 'hosts', h.name, d)));
  const skip = new Set([LAB.secretsFile, ...disks]);
  const files = [...new Set(roots.flatMap((r) => changedFiles(r, skip)))];
  const leaks = files.flatMap((f) => {
    let text: string;
    try {
      text = readFileSync(f, 'latin1') + readFileSync(f, 'utf8');
    } catch {
      return []; // removed since it was listed
    }
    const leaked = leakIn(text);
    return leaked ? [`${f}: ${leaked}`] : [];
  });
  return { scanned: files.length, leaks };
}

test.before(async () => {
  await resetHosts(HOSTS);
  for (const h of HOSTS) await captureCommandLines(h);
});

test.after(async () => {
  for (const h of HOSTS) {
    if (originalShell[h]) await sshOk(h, `usermod -s ${originalShell[h]} root && rm -f ${AUDIT_SHELL}`);
  }
});

test('the audit can see: a marked command line is captured, a planted file is found', async () => {
  await sshOk('web-01', `true audit-marker-${TOKEN}`);
  assert.match(await sshOk('web-01', `cat ${COMMAND_LOG}`), new RegExp(`audit-marker-${TOKEN}`));
  const planted = path.join(os.tmpdir(), `tandem-audit-planted-${TOKEN}`);
  writeFileSync(planted, `x=${secretForms(SECRETS.db_replication_password).at(-1)}\n`);
  try {
    assert.ok(scanControlMachine().leaks.some((l) => l.startsWith(`${planted}: db_replication_password`)), 'the planted file is reported');
  } finally {
    rmSync(planted);
  }
});

test('plan and apply from pristine servers, then again with nothing to do', () => {
  cli(['plan', '--verbose'], 2);
  cli(['plan', '--json'], 2);
  cli(['apply', '--json'], 0);
  cli(['apply', '--verbose'], 0);
  cli(['plan', '--json'], 0);
});

test('verify and status, passing and failing (read_only off; a wrong verify password)', async () => {
  cli(['verify', '--json'], 0);
  cli(['verify', '--verbose'], 0);
  cli(['status', '--json'], 0);
  cli(['status', '--verbose'], 0);
  await sshOk('web-02', `mariadb -e 'SET GLOBAL read_only = 0'`);
  cli(['verify', '--json'], 1);
  cli(['verify'], 1);
  await sshOk('web-02', `mariadb -e 'SET GLOBAL read_only = 1'`);
  const wrong = { ...ENV, TANDEM_SECRET_DB_VERIFY_PASSWORD: WRONG_VERIFY };
  cli(['verify', '--json'], 1, wrong);
  cli(['verify', '--verbose'], 1, wrong);
});

test('a password changed by hand: plan shows the drift, apply sets the password back', async () => {
  await sshOk('web-01', `mariadb -e "ALTER USER 'app'@'${LAB.hosts[1]!.address}' IDENTIFIED BY 'changed-by-hand'"`);
  cli(['plan', '--verbose'], 2);
  cli(['apply', '--verbose'], 0);
  cli(['verify', '--json'], 0);
});

test('an apply failing a validation (a broken Nginx template) is refused and leaks nothing', () => {
  const broken = { ...ENV, TANDEM_TEMPLATES: brokenNginxTemplates() };
  const r = cli(['apply', '--verbose'], 1, broken);
  assert.match(r.stdout + r.stderr, /unknown directive "bogus_directive"/);
  cli(['apply', '--json'], 1, broken);
});

test('deploy, a deploy failing its health check, rollback', async () => {
  cli(['deploy', '--json', '--source', appVersion('1.0.1')], 0);
  cli(['deploy', '--verbose', '--source', appVersion('1.0.2', { failHealth: true })], 1);
  cli(['rollback', '--json'], 0);
  cli(['rollback', '--verbose'], 0);
  assert.match(await sshOk('web-01', `readlink ${APP_CURRENT}`), /\/1\.0\.1-/);
});

test('the database binary and relay logs on the servers hold no secret (CREATE/ALTER USER carry the hash)', async () => {
  const n = '[0-9][0-9][0-9][0-9][0-9][0-9]';
  const decode = `cd /var/lib/mysql && for f in mysql-bin.${n} relay-bin.${n}; do [ -e "$f" ] && mariadb-binlog "$f"; done; true`;
  for (const h of HOSTS) {
    const events = await sshOk(h, decode);
    // Read for real: apply put back the password changed by hand, by its hash (the replica has
    // it from its primary: log_slave_updates). MariaDB first starts with tandem's config, so the
    // binary log is on when the accounts are created: their CREATE USER is logged by its hash too.
    assert.match(events, /ALTER USER .* IDENTIFIED BY PASSWORD '\*[0-9A-F]{40}'/, `${h}: apply's ALTER USER was read from the logs`);
    assert.is(leakIn(events), undefined, `${h}: the binary or relay log holds ${leakIn(events)}`);
  }
});

test('the command lines run on the servers hold no secret', async () => {
  for (const h of HOSTS) {
    const lines = await sshOk(h, `cat ${COMMAND_LOG}`);
    assert.ok(lines.split('\n').length > 50, `${h}: ${lines.split('\n').length} command lines captured`);
    assert.match(lines, /mariadb|mysql/, `${h}: the database commands were captured`);
    assert.is(leakIn(lines), undefined, `${h}: a command line holds ${leakIn(lines)}`);
  }
});

test('the files written on the control machine hold no secret (the 0600 store aside)', () => {
  const { scanned, leaks } = scanControlMachine();
  assert.equal(leaks, []);
  assert.ok(scanned > 0);
  const mode = lstatSync(LAB.secretsFile).mode & 0o777;
  assert.is(mode, 0o600, `the secrets store ${LAB.secretsFile} is private`);
  console.log(`    ${runs.length} CLI runs, ${FORMS.length} forms of 4 values; ${scanned} files written on the control machine scanned`);
});

test.run();
