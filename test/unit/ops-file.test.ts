// File, directory, absent and symlink ops as tables: {args, fact} -> the change a user would see
// (summary, diff, commands), with no server.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { planAbsent, planDirectory, planFile, planSymlink, file, type FileArgs } from '../../src/ops/file.ts';
import type { FileState } from '../../src/facts/file.ts';
import { describeCommand } from '../../src/engine/commands.ts';
import { Redactor, Secret } from '../../src/secrets/secret.ts';
import type { Change } from '../../src/engine/types.ts';

const P = '/etc/demo/app.conf';
const MISSING: FileState = { exists: false };
const fileState = (content: string, over: Partial<FileState> = {}): FileState => ({
  exists: true,
  kind: 'file',
  mode: '0644',
  owner: 'root',
  group: 'root',
  content,
  ...over,
});
const dirState = (over: Partial<FileState> = {}): FileState => ({ exists: true, kind: 'directory', mode: '0755', owner: 'root', group: 'root', ...over });
const linkState = (target: string): FileState => ({ exists: true, kind: 'symlink', mode: '0777', owner: 'root', group: 'root', target });

/** The commands as the plan shows them. */
const shown = (c: Change | null) => (c ? c.commands.map((cmd) => describeCommand(cmd, new Redactor())) : null);

// ---- planFile -------------------------------------------------------------------------------

interface FileCase {
  name: string;
  args: Omit<FileArgs, 'path'>;
  have: FileState;
  /** null: nothing to do. */
  summary: string | null;
  commands?: string[];
  diff?: string;
}

const FILE_CASES: FileCase[] = [
  {
    name: 'create with a diff from /dev/null',
    args: { content: 'listen 80;\nroot /srv;\n', mode: '0644' },
    have: MISSING,
    summary: `create ${P}`,
    commands: [`write ${P} (root:root 0644)`],
    diff: `--- /dev/null\n+++ ${P}\n@@ -0,0 +1,2 @@\n+listen 80;\n+root /srv;\n`,
  },
  {
    name: 'identical content, mode and owner: nothing to do',
    args: { content: 'listen 80;\n', mode: '0644' },
    have: fileState('listen 80;\n'),
    summary: null,
  },
  {
    name: 'a mode written without the leading zero is the same mode',
    args: { content: 'listen 80;\n', mode: '644' },
    have: fileState('listen 80;\n'),
    summary: null,
  },
  {
    name: 'same content, other mode: chmod only',
    args: { content: 'listen 80;\n', mode: '0640' },
    have: fileState('listen 80;\n', { mode: '0644' }),
    summary: `${P}: mode 0644 -> 0640`,
    commands: [`chmod 0640 ${P}`],
  },
  {
    name: 'same content, other owner: chown only',
    args: { content: 'listen 80;\n', mode: '0644', owner: 'www-data' },
    have: fileState('listen 80;\n'),
    summary: `${P}: owner root:root -> www-data:www-data`,
    commands: [`chown -h www-data:www-data ${P}`],
  },
  {
    name: 'same content, other owner and mode: chown then chmod',
    args: { content: 'x\n', mode: '0600', owner: 'app', group: 'adm' },
    have: fileState('x\n', { owner: 'root', group: 'root', mode: '0644' }),
    summary: `${P}: owner root:root -> app:adm, mode 0644 -> 0600`,
    commands: [`chown -h app:adm ${P}`, `chmod 0600 ${P}`],
  },
  {
    name: 'changed content: a put and a diff of the lines that changed',
    args: { content: 'a\nc\n', mode: '0644' },
    have: fileState('a\nb\n'),
    summary: `update ${P}`,
    commands: [`write ${P} (root:root 0644)`],
    diff: `--- ${P}\n+++ ${P}\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n`,
  },
];

for (const c of FILE_CASES) {
  test(`planFile: ${c.name}`, () => {
    const got = planFile({ path: P, ...c.args }, c.have);
    if (c.summary === null) {
      assert.is(got, null);
      return;
    }
    assert.ok(got, 'expected a change');
    assert.is(got!.summary, c.summary);
    assert.equal(shown(got), c.commands);
    assert.is(got!.diff, c.diff);
    assert.equal(got!.invalidates, [`file:${P}`]);
  });
}

test('planFile: the put carries the content, mode and owner asked for', () => {
  const got = planFile({ path: P, content: 'x\n', mode: '0600', owner: 'app' }, MISSING)!;
  assert.equal(got.commands, [{ kind: 'put', path: P, content: 'x\n', mode: '0600', owner: 'app', group: 'app', backup: false }]);
});

test('planFile: sensitive content shows no diff and says so; the secret is not in the summary', () => {
  const got = planFile({ path: P, content: 'password=hunter2-long\n', mode: '0600', sensitive: true }, fileState('password=old-value\n'))!;
  assert.is(got.summary, `update ${P} (secret content, diff hidden)`);
  assert.is(got.diff, undefined);
  assert.not.match(JSON.stringify({ s: got.summary, c: shown(got) }), /hunter2|old-value/);
  const created = planFile({ path: P, content: 'password=hunter2-long\n', mode: '0600', sensitive: true }, MISSING)!;
  assert.is(created.summary, `create ${P}`);
  assert.is(created.diff, undefined);
});

test('planFile: Secret content shows no diff; the put keeps the Secret (revealed only when sent)', () => {
  const secret = new Secret('s3cret-value\n');
  const got = planFile({ path: P, content: secret, mode: '0600' }, fileState('old\n'))!;
  assert.is(got.diff, undefined);
  const put = got.commands[0]!;
  assert.is(put.kind, 'put');
  assert.ok(put.kind === 'put' && put.content === secret);
  assert.not.match(JSON.stringify(got), /s3cret/);
  // Same secret already there: nothing to do.
  assert.is(planFile({ path: P, content: secret, mode: '0644' }, fileState('s3cret-value\n')), null);
});

test('planFile: the previous content is backed up only when a handler is notified', () => {
  const table: [string[] | undefined, boolean][] = [
    [undefined, false],
    [[], false],
    [['reload nginx'], true],
  ];
  for (const [notify, backup] of table) {
    for (const have of [MISSING, fileState('old\n')]) {
      const got = planFile({ path: P, content: 'new\n', mode: '0644', notify }, have)!;
      const put = got.commands[0]!;
      assert.ok(put.kind === 'put' && put.backup === backup, `notify ${JSON.stringify(notify)}: backup should be ${backup}`);
    }
  }
});

test('file(): the op reads the file fact, plans through it and keeps its notify list', () => {
  const op = file({ path: P, content: 'x\n', mode: '0644', notify: ['reload nginx'] });
  assert.is(op.id, `file ${P}`);
  assert.equal(
    op.facts.map((f) => f.id),
    [`file:${P}`],
  );
  assert.equal(op.notify, ['reload nginx']);
  const values = { get: <T>() => fileState('x\n') as T };
  assert.is(op.plan(values), null);
  const missing = { get: <T>() => MISSING as T };
  assert.is(op.plan(missing)!.summary, `create ${P}`);
});

// ---- planDirectory --------------------------------------------------------------------------

const D = '/srv/app';
const DIR_CASES: { name: string; mode: string; owner?: string; group?: string; have: FileState; summary: string | null; commands?: string[] }[] = [
  {
    name: 'missing: install -d with mode and owner',
    mode: '0755',
    have: MISSING,
    summary: `create directory ${D}/`,
    commands: [`install -d -m 0755 -o root -g root ${D}`],
  },
  {
    name: 'missing, owned by a service user',
    mode: '0750',
    owner: 'app',
    have: MISSING,
    summary: `create directory ${D}/`,
    commands: [`install -d -m 0750 -o app -g app ${D}`],
  },
  { name: 'there as asked: nothing', mode: '0755', have: dirState(), summary: null },
  { name: 'there, mode 755 written short: nothing', mode: '755', have: dirState(), summary: null },
  {
    name: 'there, other mode: chmod',
    mode: '0700',
    have: dirState(),
    summary: `${D}/: mode 0755 -> 0700`,
    commands: [`chmod 0700 ${D}`],
  },
  {
    name: 'there, other group: chown',
    mode: '0755',
    owner: 'root',
    group: 'adm',
    have: dirState(),
    summary: `${D}/: owner root:root -> root:adm`,
    commands: [`chown -h root:adm ${D}`],
  },
];

for (const c of DIR_CASES) {
  test(`planDirectory: ${c.name}`, () => {
    const got = planDirectory({ path: D, mode: c.mode, owner: c.owner, group: c.group }, c.have);
    if (c.summary === null) return assert.is(got, null);
    assert.is(got?.summary, c.summary);
    assert.equal(shown(got), c.commands);
    assert.is(got!.diff, undefined);
  });
}

// ---- planAbsent -----------------------------------------------------------------------------

test('planAbsent: missing -> nothing; a file or a link -> rm -f', () => {
  assert.is(planAbsent(P, MISSING), null);
  for (const have of [fileState('x\n'), linkState('/elsewhere')]) {
    const got = planAbsent(P, have);
    assert.is(got?.summary, `remove ${P}`);
    assert.equal(shown(got), [`rm -f ${P}`]);
    assert.equal(got!.invalidates, [`file:${P}`]);
  }
});

// ---- planSymlink ----------------------------------------------------------------------------

const L = '/srv/app/current';
const T = '/srv/app/releases/20240101-120000';

test('planSymlink: table', () => {
  const table: [string, FileState, string | null][] = [
    ['missing', MISSING, `link ${L} -> ${T}`],
    ['right target', linkState(T), null],
    ['other target', linkState('/srv/app/releases/old'), `link ${L} -> ${T}`],
    ['a regular file in the way', fileState('x'), `link ${L} -> ${T}`],
  ];
  for (const [name, have, summary] of table) {
    const got = planSymlink(L, T, have);
    assert.is(got?.summary ?? null, summary, name);
    if (got) {
      assert.equal(shown(got), [`ln -sfn ${T} ${L}`], name);
      assert.equal(got.invalidates, [`file:${L}`]);
    }
  }
});

test('planSymlink: the switch is ln to a temp name then one rename, with quoting', () => {
  const got = planSymlink("/srv/it's/current", '/srv/a b/rel', MISSING)!;
  const cmd = got.commands[0]!;
  assert.is(cmd.kind, 'script');
  if (cmd.kind !== 'script') return;
  assert.is(
    cmd.script,
    [
      'set -e',
      `ln -sfn '/srv/a b/rel' '/srv/it'\\''s/current.tandem-new'`,
      `mv -Tf '/srv/it'\\''s/current.tandem-new' '/srv/it'\\''s/current'`,
    ].join('\n'),
  );
});

test.run();
