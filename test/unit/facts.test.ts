// Facts: parsers as tables, and the batch (one script, delimited sections, exit codes kept) run for
// real with sh on files in a temp dir.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileFact, parseFileState, type FileState } from '../../src/facts/file.ts';
import { parsePackages, packagesFact } from '../../src/facts/apt.ts';
import { parseService, serviceFact } from '../../src/facts/service.ts';
import { batchScript, newToken, splitBatch, splitSections, uniqueFacts, FactCache } from '../../src/engine/facts.ts';
import type { Fact } from '../../src/engine/types.ts';
import { shellQuote } from '../../src/ssh/shell.ts';

// ---- parseFileState -------------------------------------------------------------------------

const b64 = (s: string) => Buffer.from(s).toString('base64');

const FILE_STATES: [string, string, number, FileState][] = [
  [
    'regular file',
    `644 root root regular file\n${b64('listen 80;\n')}`,
    0,
    { exists: true, kind: 'file', mode: '0644', owner: 'root', group: 'root', content: 'listen 80;\n' },
  ],
  ['missing', '', 1, { exists: false }],
  ['missing, whatever stat printed', 'stat: cannot statx', 1, { exists: false }],
  ['directory', '755 www-data adm directory\n', 0, { exists: true, kind: 'directory', mode: '0755', owner: 'www-data', group: 'adm' }],
  [
    'symlink',
    '777 root root symbolic link\n/srv/app/releases/2\n',
    0,
    { exists: true, kind: 'symlink', mode: '0777', owner: 'root', group: 'root', target: '/srv/app/releases/2' },
  ],
  ['empty file', '600 app app regular empty file\n', 0, { exists: true, kind: 'file', mode: '0600', owner: 'app', group: 'app', content: '' }],
  ['setgid directory keeps all four digits', '2775 root staff directory\n', 0, { exists: true, kind: 'directory', mode: '2775', owner: 'root', group: 'staff' }],
  ['a fifo is some other kind', '644 root root fifo\n', 0, { exists: true, kind: 'other', mode: '0644', owner: 'root', group: 'root' }],
];

for (const [name, stdout, code, expected] of FILE_STATES) {
  test(`parseFileState: ${name}`, () => {
    assert.equal(parseFileState(stdout, code), expected);
  });
}

// ---- parsePackages --------------------------------------------------------------------------

test('parsePackages: installed, candidates and index age', () => {
  const got = parsePackages(
    [
      'pkg nginx install ok installed',
      'pkg curl deinstall ok config-files',
      'pkg haproxy unknown ok not-installed',
      'candidate curl 7.88.1-10+deb12u5',
      'candidate haproxy 2.6.12-1+deb12u1',
      'candidate mysql-server (none)',
      'candidate nosuchpkg ',
      'index-age 42',
      '',
    ].join('\n'),
  );
  assert.equal([...got.installed], ['nginx']);
  assert.equal([...got.available].sort(), ['curl', 'haproxy']);
  assert.is(got.indexAgeSeconds, 42);
});

test('parsePackages: no index at all is infinitely old; empty output knows nothing', () => {
  const got = parsePackages('');
  assert.is(got.installed.size, 0);
  assert.is(got.available.size, 0);
  assert.is(got.indexAgeSeconds, Number.POSITIVE_INFINITY);
});

test('packagesFact: one id per set of packages, whatever the order', () => {
  assert.is(packagesFact(['nginx', 'curl']).id, 'apt:curl,nginx');
  assert.is(packagesFact(['curl', 'nginx']).id, packagesFact(['nginx', 'curl']).id);
});

// ---- parseService ---------------------------------------------------------------------------

const SERVICES: [string, string, { exists: boolean; enabled: boolean; active: boolean; needsDaemonReload: boolean }][] = [
  ['enabled and running', 'LoadState=loaded\nUnitFileState=enabled\nActiveState=active\n', { exists: true, enabled: true, active: true, needsDaemonReload: false }],
  ['disabled and dead', 'LoadState=loaded\nUnitFileState=disabled\nActiveState=inactive\n', { exists: true, enabled: false, active: false, needsDaemonReload: false }],
  ['static unit counts as enabled', 'LoadState=loaded\nUnitFileState=static\nActiveState=active\n', { exists: true, enabled: true, active: true, needsDaemonReload: false }],
  ['reloading counts as active', 'LoadState=loaded\nUnitFileState=enabled\nActiveState=reloading\n', { exists: true, enabled: true, active: true, needsDaemonReload: false }],
  ['failed is not active', 'LoadState=loaded\nUnitFileState=enabled\nActiveState=failed\n', { exists: true, enabled: true, active: false, needsDaemonReload: false }],
  ['unit file changed since loaded', 'LoadState=loaded\nUnitFileState=enabled\nActiveState=active\nNeedDaemonReload=yes\n', { exists: true, enabled: true, active: true, needsDaemonReload: true }],
  ['not installed', 'LoadState=not-found\nUnitFileState=\nActiveState=inactive\n', { exists: false, enabled: false, active: false, needsDaemonReload: false }],
];

for (const [name, stdout, expected] of SERVICES) {
  test(`parseService: ${name}`, () => {
    assert.equal(parseService(stdout), expected);
  });
}

test('serviceFact: asks systemctl for the four properties of that unit', () => {
  const f = serviceFact('nginx');
  assert.is(f.id, 'service:nginx');
  assert.is(f.script, 'systemctl show -p LoadState -p UnitFileState -p ActiveState -p NeedDaemonReload -- nginx');
});

// ---- batchScript + splitBatch, run for real -------------------------------------------------

let dir = '';
test.before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-facts-'));
});
test.after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Run facts the way the engine does: one script, split back into one reading per fact. */
function gatherLocally(facts: Fact<unknown>[]): { stdout: string; exitCode: number }[] {
  const token = newToken();
  const res = spawnSync('sh', ['-c', batchScript(facts, token)], { encoding: 'utf8' });
  assert.is(res.status, 0, `batch script failed: ${res.stderr}`);
  return splitBatch(res.stdout, facts, token);
}

const raw = (id: string, script: string): Fact<string> => ({ id, script, parse: (s) => s });

test('batch: raw output and exit codes survive, in order, whatever the content', () => {
  const noNewline = path.join(dir, 'no-newline');
  const withEnd = path.join(dir, 'with-end');
  const empty = path.join(dir, 'empty');
  fs.writeFileSync(noNewline, 'last line without newline');
  // Looks like section markers without the run's token; must come back untouched.
  fs.writeFileSync(withEnd, 'the end\nend 0 1\n__tandem_0000 end 0 0\nbegin 1\n\n');
  fs.writeFileSync(empty, '');
  const facts = [
    raw('no-newline', `cat ${shellQuote(noNewline)}`),
    raw('with-end', `cat ${shellQuote(withEnd)}`),
    raw('empty', `cat ${shellQuote(empty)}`),
    raw('exit-7', "printf 'partial'; exit 7"),
    raw('stderr', 'echo visible; echo hidden >&2; false'),
    raw('comment', 'echo ok # a trailing comment does not swallow the section end'),
    raw('missing', `cat ${shellQuote(path.join(dir, 'nope'))}`),
  ];
  assert.equal(gatherLocally(facts), [
    { stdout: 'last line without newline', exitCode: 0 },
    { stdout: 'the end\nend 0 1\n__tandem_0000 end 0 0\nbegin 1\n\n', exitCode: 0 },
    { stdout: '', exitCode: 0 },
    { stdout: 'partial', exitCode: 7 },
    { stdout: 'visible\n', exitCode: 1 },
    { stdout: 'ok\n', exitCode: 0 },
    { stdout: '', exitCode: 1 },
  ]);
});

test('batch: file facts read real files, directories, links and absences', () => {
  const f = path.join(dir, 'app.conf');
  const content = 'héllo ✓\nthe end\n__tandem end 0 0\nno newline at the end';
  fs.writeFileSync(f, content, { mode: 0o640 });
  fs.chmodSync(f, 0o640);
  const emptyFile = path.join(dir, 'empty.conf');
  fs.writeFileSync(emptyFile, '');
  fs.chmodSync(emptyFile, 0o600);
  const sub = path.join(dir, 'sub dir');
  fs.mkdirSync(sub);
  fs.chmodSync(sub, 0o750);
  const link = path.join(dir, 'current');
  fs.symlinkSync('/srv/app/releases/7', link);
  const me = os.userInfo();
  const owner = spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim();
  const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
  assert.ok(me.username.length > 0);

  const paths = [f, emptyFile, sub, link, path.join(dir, 'missing.conf')];
  const facts = paths.map(fileFact);
  const got = gatherLocally(facts).map((r, i) => facts[i]!.parse(r.stdout, r.exitCode));
  assert.equal(got, [
    { exists: true, kind: 'file', mode: '0640', owner, group, content },
    { exists: true, kind: 'file', mode: '0600', owner, group, content: '' },
    { exists: true, kind: 'directory', mode: '0750', owner, group },
    { exists: true, kind: 'symlink', mode: '0777', owner, group, target: '/srv/app/releases/7' },
    { exists: false },
  ]);
});

test('batch: the file facts of a batch share ONE stat run, names with quotes, spaces and newlines included', () => {
  const bin = path.join(dir, 'bin-stat');
  fs.mkdirSync(bin, { recursive: true });
  const calls = path.join(dir, 'stat-calls');
  fs.writeFileSync(path.join(bin, 'stat'), `#!/bin/sh\necho "$#" >> ${shellQuote(calls)}\nexec /usr/bin/stat "$@"\n`, { mode: 0o755 });
  const odd = path.join(dir, "it's\na file.conf");
  fs.writeFileSync(odd, 'odd\n');
  fs.chmodSync(odd, 0o644);
  const facts: Fact<unknown>[] = [fileFact(odd), raw('between', 'echo between'), fileFact(path.join(dir, 'nothing here')), fileFact(dir)];
  const token = newToken();
  const res = spawnSync('sh', ['-c', batchScript(facts, token)], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  const got = splitBatch(res.stdout, facts, token).map((r, i) => facts[i]!.parse(r.stdout, r.exitCode)) as any[];
  assert.equal([got[0].kind, got[0].mode, got[0].content], ['file', '0644', 'odd\n']);
  assert.is(got[1], 'between\n');
  assert.equal(got[2], { exists: false });
  assert.is(got[3].kind, 'directory');
  // One stat, for the two paths that exist (its arguments: -c FORMAT -- and those two).
  assert.is(fs.readFileSync(calls, 'utf8'), '5\n');
});

test('files probe: output that does not line up (a path gone between the test and stat) reads every path as absent', () => {
  const parts = [['/a'], ['/b']];
  assert.equal(fileFact('/a').shared!.probe.split('11\n644 root root regular file\n--\nYQ==\nYg==\n', 0, parts), [
    { stdout: '', exitCode: 1 },
    { stdout: '', exitCode: 1 },
  ]);
  assert.equal(fileFact('/a').shared!.probe.split('10\n644 root root regular file\n--\nYQ==\n\n', 0, parts), [
    { stdout: '644 root root regular file\nYQ==', exitCode: 0 },
    { stdout: '', exitCode: 1 },
  ]);
});

/** systemd 257's answer for a unit, as `systemctl show` prints it (LoadState=not-found for an unknown one). */
const unitBlock = (load: string, active: string, file: string) => `LoadState=${load}\nActiveState=${active}\nUnitFileState=${file}\nNeedDaemonReload=no\n`;

test('batch: the service facts of a batch share ONE systemctl run; each reads its own unit, in order', () => {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const calls = path.join(dir, 'systemctl-calls');
  // A recording systemctl answering per unit, blocks separated by an empty line like systemd's.
  fs.writeFileSync(
    path.join(bin, 'systemctl'),
    `#!/bin/sh\necho "$*" >> ${shellQuote(calls)}\nwhile [ "$1" != -- ]; do shift; done; shift\nsep=\nfor u; do printf "$sep"; sep='\\n'\n` +
      `case $u in nginx) printf '${unitBlock('loaded', 'active', 'enabled')}';; mariadb) printf '${unitBlock('loaded', 'inactive', 'disabled')}';; *) printf '${unitBlock('not-found', 'inactive', '')}';; esac\ndone\n`,
    { mode: 0o755 },
  );
  const facts: Fact<unknown>[] = [serviceFact('nginx'), raw('between', 'echo between'), serviceFact('no-such'), serviceFact('mariadb')];
  const token = newToken();
  const res = spawnSync('sh', ['-c', batchScript(facts, token)], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  const got = splitBatch(res.stdout, facts, token).map((r, i) => facts[i]!.parse(r.stdout, r.exitCode));
  assert.equal(got, [
    { exists: true, enabled: true, active: true, needsDaemonReload: false },
    'between\n',
    { exists: false, enabled: false, active: false, needsDaemonReload: false },
    { exists: true, enabled: false, active: false, needsDaemonReload: false },
  ]);
  assert.equal(fs.readFileSync(calls, 'utf8'), 'show -p LoadState -p UnitFileState -p ActiveState -p NeedDaemonReload -- nginx no-such mariadb\n');
});

test('systemctl probe: a run that failed as a whole (a unit name systemd refuses) knows no unit', () => {
  const parts = [['nginx'], ['bad name!']];
  assert.equal(serviceFact('nginx').shared!.probe.split('', 1, parts), [
    { stdout: '', exitCode: 1 },
    { stdout: '', exitCode: 1 },
  ]);
});

test('packagesFact: one dpkg-query for all, one apt-cache policy for the missing ones only', () => {
  const bin = path.join(dir, 'apt-bin');
  fs.mkdirSync(bin, { recursive: true });
  const calls = path.join(dir, 'apt-calls');
  fs.rmSync(calls, { force: true });
  // dpkg-query knows nginx (installed) and curl (removed, config left); apt-cache knows curl
  // and haproxy, and has no candidate for mysql-server; dpkg --audit finds nothing.
  const tool = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> ${shellQuote(calls)}\n${body}`, { mode: 0o755 });
  tool('dpkg-query', `printf 'pkg nginx install ok installed\\npkg curl deinstall ok config-files\\n'\n`);
  tool(
    'apt-cache',
    `for p; do case $p in curl) printf 'curl:\\n  Installed: (none)\\n  Candidate: 8.14.1-2\\n';; haproxy) printf 'haproxy:\\n  Installed: (none)\\n  Candidate: 3.0.11-1\\n';; ` +
      `mysql-server) printf 'mysql-server:\\n  Installed: (none)\\n  Candidate: (none)\\n';; esac; done\n`,
  );
  tool('dpkg', '');
  const fact = packagesFact(['nginx', 'curl', 'haproxy', 'mysql-server', 'nosuchpkg']);
  const res = spawnSync('sh', ['-c', fact.script], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  const got = fact.parse(res.stdout, res.status ?? -1);
  assert.equal([[...got.installed], [...got.available].sort(), got.dpkgInterrupted], [['nginx'], ['curl', 'haproxy'], false]);
  const ran = fs.readFileSync(calls, 'utf8').split('\n');
  assert.is(ran.filter((l) => l.startsWith('dpkg-query ')).length, 1);
  assert.equal(ran.filter((l) => l.startsWith('apt-cache ')), ['apt-cache policy curl haproxy mysql-server nosuchpkg']);
});

test('splitSections: a section that is missing or never ended is an error, not a silent empty fact', () => {
  const token = newToken();
  const two = spawnSync('sh', ['-c', batchScript([raw('a', 'echo a'), raw('b', 'echo b')], token)], { encoding: 'utf8' }).stdout;
  assert.throws(() => splitSections(two, 3, token), /fact section 2 is missing/);
  const cut = two.slice(0, two.lastIndexOf(`${token} end 1`));
  assert.throws(() => splitSections(cut, 2, token), /fact section 1 did not finish/);
  // Another run's token is not ours.
  assert.throws(() => splitSections(two, 2, newToken()), /fact section 0 is missing/);
});

test('uniqueFacts and FactCache: one reading per id; invalidation forgets only what it names', () => {
  const a = raw('a', 'echo a');
  const a2 = raw('a', 'echo other');
  const b = raw('b', 'echo b');
  assert.equal(
    uniqueFacts([a, b, a2]).map((f) => f.script),
    ['echo a', 'echo b'],
  );
  const cache = new FactCache();
  cache.set('a', 'A');
  cache.set('b', 'B');
  cache.invalidate(['a']);
  assert.not.ok(cache.has('a'));
  assert.is(cache.get(b), 'B');
  assert.throws(() => cache.get(a), /fact a was not gathered/);
  cache.invalidate('all');
  assert.not.ok(cache.has('b'));
});

test.run();
