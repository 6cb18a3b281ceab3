// The shell builder: every value put into a command comes out of a real `sh -c` exactly as it
// went in, whatever characters it holds. (Local sh only: no server.)
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { describeRequest, raw, remoteCommandLine, sh, shellJoin, shellQuote } from '../../src/ssh/shell.ts';

const HOSTILE: Array<[string, string]> = [
  ['empty', ''],
  ['single quote', "it's"],
  ['only quotes', `'"'"`],
  ['double quotes', 'say "hi"'],
  ['dollar and a variable', '$HOME ${PATH} $(id) $1'],
  ['backticks', '`id`'],
  ['backslashes', 'a\\b\\\\c\\'],
  ['newline', 'line one\nline two\n'],
  ['spaces and a tab', ' lead  and\ttrail '],
  ['non-ASCII', 'é ü 日本 🚀'],
  ['leading dash', '-rf'],
  ['two dashes', '--help'],
  ['glob characters', '* ? [a-z]'],
  ['separators', 'a; b && c || d | e & f'],
  ['redirections', '> /tmp/x < /etc/passwd 2>&1'],
  ['comment and bang', '# not a comment ! history'],
  ['tilde', '~root'],
  ['equals', 'A=B'],
  ['a password full of everything', `p&ss<w>"o'r$d\\ \`x\` é`],
];

/** What a real POSIX shell makes of a command line: each argument printed NUL-terminated. */
function argsSeenBy(commandLine: string): string[] {
  const r = spawnSync('sh', ['-c', commandLine], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.split('\0').slice(0, -1);
}

for (const [name, value] of HOSTILE) {
  test(`shellQuote round-trips through sh -c: ${name}`, () => {
    assert.equal(argsSeenBy(`printf '%s\\0' ${shellQuote(value)}`), [value]);
  });
  test(`sh template quotes the value as one word: ${name}`, () => {
    assert.equal(argsSeenBy(sh`printf '%s\\0' ${value} ${[value, 'x']}`), [value, value, 'x']);
  });
}

test('shellJoin: every element is one argument, in order', () => {
  const values = HOSTILE.map(([, v]) => v);
  assert.equal(argsSeenBy(`printf '%s\\0' ${shellJoin(values)}`), values);
});

test('plain words stay readable; everything else is single-quoted', () => {
  assert.is(shellJoin(['systemctl', 'reload', 'nginx']), 'systemctl reload nginx');
  assert.is(shellJoin(['ln', '-sfn', '/srv/a b', "/srv/it's"]), `ln -sfn '/srv/a b' '/srv/it'\\''s'`);
});

test('sh template: numbers stay numbers, raw text goes in as it is, a non-number is refused', () => {
  assert.is(sh`exit ${3}`, 'exit 3');
  assert.is(sh`${raw('echo "$HOME"')} ${'$HOME'}`, `echo "$HOME" '$HOME'`);
  assert.throws(() => sh`sleep ${Number.NaN}`, /not a number/);
});

test('the remote command line: argv and scripts keep every value, under sudo and timeout', () => {
  const value = HOSTILE[HOSTILE.length - 1]![1];
  // No wrapper: argv as they are, a script through sh -c.
  assert.equal(argsSeenBy(remoteCommandLine({ argv: ['printf', '%s\\0', value] }, { sudo: false })), [value]);
  assert.equal(argsSeenBy(remoteCommandLine({ script: sh`printf '%s\\0' ${value}` }, { sudo: false })), [value]);
  // With the deadline's `timeout` around it, the same arguments arrive.
  assert.equal(argsSeenBy(remoteCommandLine({ argv: ['printf', '%s\\0', value] }, { sudo: false, timeoutSeconds: 30 })), [value]);
  assert.equal(argsSeenBy(remoteCommandLine({ script: sh`printf '%s\\0' ${value}` }, { sudo: false, timeoutSeconds: 30 })), [value]);
  assert.is(remoteCommandLine({ argv: ['systemctl', 'restart', 'nginx'] }, { sudo: true, timeoutSeconds: 60 }), 'sudo -n -- timeout -k 3 60 systemctl restart nginx');
  assert.is(remoteCommandLine({ script: 'echo hi' }, { sudo: false }), `sh -c 'echo hi'`);
});

test('describeRequest: an argv as the shell would read it; a script by its first line, marked when there is more', () => {
  assert.is(describeRequest({ argv: ['systemctl', 'restart', 'tandem app'] }), "systemctl restart 'tandem app'");
  assert.is(describeRequest({ script: 'set -e\nmkdir -p /srv/app\n' }), 'set -e …');
  assert.is(describeRequest({ script: '  mysql --batch  \n' }), 'mysql --batch', 'one line: itself, trimmed');
  assert.is(describeRequest({}), '');
  assert.is(`${raw('echo "$HOME"')}`, 'echo "$HOME"', 'raw text reads as itself in messages too');
});

test.run();
