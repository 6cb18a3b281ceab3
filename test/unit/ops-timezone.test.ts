// The time zone op: /etc/localtime and /etc/timezone facts -> one script or nothing.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { timezone } from '../../src/ops/timezone.ts';
import type { FileState } from '../../src/facts/file.ts';
import type { Fact, FactValues } from '../../src/engine/types.ts';
import { describeCommand } from '../../src/engine/commands.ts';
import { Redactor } from '../../src/secrets/secret.ts';

const link = (target: string): FileState => ({ exists: true, kind: 'symlink', mode: '0777', owner: 'root', group: 'root', target });
const text = (content: string): FileState => ({ exists: true, kind: 'file', mode: '0644', owner: 'root', group: 'root', content });
const MISSING: FileState = { exists: false };

/** Fact values by fact id. */
const facts = (byId: Record<string, FileState>): FactValues => ({
  get<T>(f: Fact<T>): T {
    if (!(f.id in byId)) throw new Error(`unexpected fact ${f.id}`);
    return byId[f.id] as T;
  },
});

const TABLE: [string, FileState, FileState, boolean][] = [
  ['already Europe/Paris', link('/usr/share/zoneinfo/Europe/Paris'), text('Europe/Paris\n'), false],
  ['link to another zone', link('/usr/share/zoneinfo/Etc/UTC'), text('Europe/Paris\n'), true],
  ['name file says another zone', link('/usr/share/zoneinfo/Europe/Paris'), text('Etc/UTC\n'), true],
  ['name file without its newline', link('/usr/share/zoneinfo/Europe/Paris'), text('Europe/Paris'), true],
  ['fresh host: no link, no name file', MISSING, MISSING, true],
];

for (const [name, l, n, changes] of TABLE) {
  test(`timezone: ${name}`, () => {
    const op = timezone('Europe/Paris');
    assert.equal(op.facts.map((f) => f.id), ['file:/etc/localtime', 'file:/etc/timezone']);
    const got = op.plan(facts({ 'file:/etc/localtime': l, 'file:/etc/timezone': n }));
    if (!changes) return assert.is(got, null);
    assert.is(got?.summary, 'set the time zone to Europe/Paris');
    assert.equal(
      got!.commands.map((c) => describeCommand(c, new Redactor())),
      ['ln -sf /usr/share/zoneinfo/Europe/Paris /etc/localtime; echo Europe/Paris > /etc/timezone'],
    );
    assert.equal(got!.invalidates, ['file:/etc/localtime', 'file:/etc/timezone']);
  });
}

test('timezone: the script refuses a zone tzdata does not have, with a message that says so', () => {
  const got = timezone('Mars/Olympus').plan(facts({ 'file:/etc/localtime': MISSING, 'file:/etc/timezone': MISSING }))!;
  const cmd = got.commands[0]!;
  assert.ok(cmd.kind === 'script');
  if (cmd.kind !== 'script') return;
  assert.match(cmd.script, /^set -e\n/);
  assert.match(cmd.script, "[ -e /usr/share/zoneinfo/Mars/Olympus ] || { echo 'unknown time zone Mars/Olympus");
  assert.match(cmd.script, 'is tzdata installed?');
});

test.run();
