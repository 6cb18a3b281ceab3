// The format writers as tables: every special value, written by each writer and read back with
// its program's own rules (test/fixtures/format-parsers.ts), comes back unchanged, or is refused
// with a FormatError that says why without showing the value.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import {
  aptString,
  envValue,
  FormatError,
  haproxyWord,
  keepalivedWord,
  nginxWord,
  optionName,
  optionValue,
  unitArg,
  unitValue,
} from '../../src/formats/index.ts';
import { sqlIdentifier, sqlString } from '../../src/formats/sql.ts';
import { framed } from '../../src/formats/stdin-frames.ts';
import {
  haproxyWords,
  keepalivedWords,
  nginxDirectives,
  parseAptConfig,
  parseEnvFile,
  parseOptionFile,
  parseSqlString,
  unitExecWords,
  unitSettingValue,
} from '../fixtures/format-parsers.ts';
import { CONTROL_VALUES, SPECIAL_VALUES } from '../fixtures/special-values.ts';
import { thrown } from '../fixtures/thrown.ts';

interface Writer {
  name: string;
  write: (v: string) => string;
  /** Reads the written value back out of a line of the format. */
  read: (written: string) => string | undefined;
  /** The values this format cannot hold (besides control characters). */
  cannot?: (v: string) => boolean;
}

const WRITERS: Writer[] = [
  { name: 'envValue', write: envValue, read: (w) => parseEnvFile(`# c\nKEY=${w}\nNEXT=1\n`).KEY },
  {
    name: 'unitValue',
    write: unitValue,
    read: (w) => unitSettingValue(w),
    cannot: (v) => v !== v.trim() || v.endsWith('\\'),
  },
  { name: 'unitArg', write: unitArg, read: (w) => unitExecWords(`/usr/bin/node ${w} --next`)[1] },
  { name: 'optionValue', write: optionValue, read: (w) => parseOptionFile(`[client]\npassword = ${w}\nport = 1\n`).client?.password },
  { name: 'aptString', write: aptString, read: (w) => parseAptConfig(`Acquire::http::Proxy ${w}; // comment\n`)['Acquire::http::Proxy'], cannot: (v) => v.includes('"') },
  {
    name: 'haproxyWord',
    write: haproxyWord,
    read: (w) => haproxyWords(`    server ${w} 10.0.0.1:80 check # comment`, { HOME: 'H', PATH: 'P' })[1],
    cannot: (v) => v === '',
  },
  { name: 'nginxWord', write: nginxWord, read: (w) => nginxDirectives(`server {\n    server_name ${w} other; # comment\n}\n`)[1]?.[1], cannot: (v) => v.includes('$') },
  {
    name: 'keepalivedWord',
    write: keepalivedWord,
    read: (w) => keepalivedWords(`    router_id ${w} # comment`)[1],
    cannot: (v) => /["\\$]/.test(v),
  },
  { name: 'sqlString', write: sqlString, read: parseSqlString },
];

const refusal = (fn: () => unknown) => thrown(fn, FormatError);

for (const w of WRITERS) {
  test(`${w.name}: every special value is read back as written, or refused without showing it`, () => {
    for (const value of SPECIAL_VALUES) {
      if (w.cannot?.(value)) {
        const err = refusal(() => w.write(value));
        if (value.length > 1) assert.not.ok(err.message.includes(value), `${w.name}: the refusal shows the value: ${err.message}`);
        continue;
      }
      const written = w.write(value);
      assert.is(w.read(written), value, `${w.name}(${JSON.stringify(value)}) wrote ${JSON.stringify(written)}`);
    }
  });

  if (w.name !== 'sqlString') {
    test(`${w.name}: control characters are refused, naming the code point`, () => {
      for (const value of CONTROL_VALUES) {
        const err = refusal(() => w.write(value));
        assert.match(err.message, /cannot hold a control character \(U\+00[0-9A-F]{2}\)/);
        assert.not.ok(err.message.includes(value));
      }
    });
  }
}

test('sqlString: control characters become escapes, so the literal stays on one line', () => {
  for (const value of CONTROL_VALUES) {
    const written = sqlString(value);
    assert.is(parseSqlString(written), value);
    assert.not.match(written, /[\n\r\0\x1a]/);
  }
  assert.is(sqlString("a'b\\c"), "'a''b\\\\c'");
});

test('sqlIdentifier: backticks around, a backtick inside doubled; empty and NUL refused', () => {
  assert.is(sqlIdentifier('app'), '`app`');
  assert.is(sqlIdentifier('we`ird na;me'), '`we``ird na;me`');
  assert.match(refusal(() => sqlIdentifier('')).message, /cannot be empty or hold NUL/);
  assert.match(refusal(() => sqlIdentifier('a\0b')).message, /cannot be empty or hold NUL/);
});

test('plain values are written as they are, so configs written before these writers do not change', () => {
  for (const w of [envValue, unitValue, unitArg, optionValue, haproxyWord, nginxWord, keepalivedWord]) {
    for (const v of ['web-01', '10.77.0.11', '3000', '/srv/app/current/src/server.js', 'mysql-bin', 'ON']) assert.is(w(v), v);
  }
  assert.is(aptString('http://10.77.0.1:3142'), '"http://10.77.0.1:3142"');
  assert.is(envValue(3306), '3306');
  assert.is(optionValue(168430091), '168430091');
});

test('writers refuse what is not text, and text that is not valid Unicode', () => {
  for (const w of [envValue, optionValue, nginxWord, haproxyWord, keepalivedWord, aptString, unitValue, unitArg]) {
    assert.match(refusal(() => w(undefined as never)).message, /needs text or a number, not undefined/);
    assert.match(refusal(() => w({} as never)).message, /not object/);
    assert.match(refusal(() => w(NaN as never)).message, /not number/);
    assert.match(refusal(() => w('half \ud83d of an emoji')).message, /not valid Unicode/);
  }
});

test('each refusal says what the format cannot hold and why', () => {
  assert.match(refusal(() => aptString('a"b')).message, /an apt configuration file cannot hold "\\"": apt strings have no escape for it/);
  assert.match(refusal(() => nginxWord('$host')).message, /nginx reads it as the start of a variable/);
  assert.match(refusal(() => keepalivedWord('a"b')).message, /keepalived has no escape for it/);
  assert.match(refusal(() => keepalivedWord('a$b c')).message, /replaces \$NAME/);
  assert.match(refusal(() => unitValue(' x')).message, /spaces at the start or end/);
  assert.match(refusal(() => unitValue('x\\')).message, /continued line/);
  assert.match(refusal(() => envValue('bom\ufeff')).message, /noncharacter U\+FEFF/);
  assert.match(refusal(() => envValue('x\ufdd0')).message, /noncharacter U\+FDD0/);
  assert.match(refusal(() => optionValue('x'.repeat(4001))).message, /holds at most 4000 bytes/);
  assert.match(refusal(() => haproxyWord('x'.repeat(1025))).message, /holds at most 1024 bytes/);
  assert.match(refusal(() => optionName('bad name')).message, /option name must be/);
  assert.is(optionName('bind-address'), 'bind-address');
});

test('framed: lengths in bytes, so a part with multi-byte characters or a marker-like line cannot spill over', () => {
  assert.is(framed(['é\n-- tandem-sql\n', 'rest']), '0000000017é\n-- tandem-sql\nrest');
  assert.is(framed(['only']), 'only');
  assert.is(framed(['', 'b']), '0000000000b');
});

test.run();
