// Templates: rendered locally with ejs (variables as v.name), then managed like a file. A template
// mistake is a TemplateError that names the template file and the line.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderTemplate, template } from '../../src/ops/template.ts';
import { InventoryError, TemplateError } from '../../src/errors.ts';
import { thrown } from '../fixtures/thrown.ts';

let dir = '';

test.before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-templates-'));
});
test.after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function tpl(name: string, source: string): { file: string; shown: string } {
  const file = path.join(dir, name);
  fs.writeFileSync(file, source);
  return { file, shown: path.relative(process.cwd(), file) };
}

const templateError = (fn: () => unknown) => thrown(fn, TemplateError);

test('renderTemplate: values, loops and conditions render; the output is exact', () => {
  const { file } = tpl(
    'backends.cfg.ejs',
    [
      'backend app',
      '    balance <%- haproxyWord(v.algorithm) %>',
      '<% for (const s of v.servers) { -%>',
      '    server <%- haproxyWord(s.name) %> <%- haproxyWord(`${s.address}:${v.port}`) %> check',
      '<% } -%>',
      '<% if (v.tls) { -%>',
      '    # tls',
      '<% } -%>',
      '',
    ].join('\n'),
  );
  const out = renderTemplate(file, {
    algorithm: 'leastconn',
    port: 8080,
    tls: false,
    servers: [
      { name: 'web-01', address: '10.0.0.1' },
      { name: 'web-02', address: '10.0.0.2' },
    ],
  });
  assert.is(
    out,
    'backend app\n    balance leastconn\n    server web-01 10.0.0.1:8080 check\n    server web-02 10.0.0.2:8080 check\n',
  );
});

test('renderTemplate: a variable the caller did not pass is an error naming the file and line', () => {
  const { file, shown } = tpl('missing.conf.ejs', 'server {\n    listen <%- nginxWord(v.port) %>;\n    server_name <%- nginxWord(v.server_name) %>;\n}\n');
  const err = templateError(() => renderTemplate(file, { port: 80 }));
  assert.match(err.message, `${shown}:3: `);
  assert.match(err.message, 'server_name');
});

test('renderTemplate: a bare name (not v.name) is an error naming the file and line', () => {
  const { file, shown } = tpl('bare.conf.ejs', 'a\nb\nport=<%- port %>\n');
  const err = templateError(() => renderTemplate(file, { port: 80 }));
  assert.is(err.message, `${shown}:3: port is not defined`);
});

test('renderTemplate: an ejs syntax error names the file', () => {
  const { file, shown } = tpl('syntax.conf.ejs', 'a\n<% if (v.x) { %>\nb\n');
  const err = templateError(() => renderTemplate(file, { x: true }));
  assert.ok(err.message.startsWith(`${shown}`), err.message);
});

test('renderTemplate: a template that does not exist says it cannot be read', () => {
  const file = path.join(dir, 'nope.ejs');
  const err = templateError(() => renderTemplate(file, {}));
  assert.ok(err.message.startsWith(`${path.relative(process.cwd(), file)}: cannot read the template`), err.message);
});

test('renderTemplate: <%= is refused, naming the line, so nothing is ever HTML-escaped', () => {
  const { file, shown } = tpl('escaping.env.ejs', '# ok\nA=<%- envValue(v.a) %>\nB=<%= v.b %>\n');
  const err = templateError(() => renderTemplate(file, { a: 'x', b: 'p&ss' }));
  assert.ok(err.message.startsWith(`${shown}:3: <%= writes HTML entities`), err.message);
  assert.match(err.message, /write <%- helper\(value\) %>/);
  // <%% is ejs for a literal "<%", not a tag.
  const { file: literal } = tpl('literal.ejs', 'text <%%= not a tag %>\n');
  assert.is(renderTemplate(literal, {}), 'text <%= not a tag %>\n');
});

test('renderTemplate: values go through the writers untouched by HTML: & < > " stay as they are', () => {
  const { file } = tpl('raw.env.ejs', 'P=<%- envValue(v.p) %>\nS=<%- nginxWord(v.s) %>\n');
  assert.is(renderTemplate(file, { p: `a&b<c>"d'`, s: 'x&<y>' }), `P="a&b<c>\\"d'"\nS="x&<y>"\n`);
});

test('renderTemplate: a value the format cannot hold is bad input naming template and line, never the value', () => {
  const { file, shown } = tpl('refused.env.ejs', '# env\nDB_PASSWORD=<%- envValue(v.password) %>\n');
  const err = thrown(() => renderTemplate(file, { password: 'two\nlines-of-secret' }), InventoryError);
  assert.is(err.message, `${shown}:2: a systemd environment file cannot hold a control character (U+000A)`);
});

test('renderTemplate: a variable named like a writer is refused (it would hide the writer)', () => {
  const { file, shown } = tpl('shadow.ejs', '<%- envValue(v.x) %>\n');
  const err = templateError(() => renderTemplate(file, { x: '1', envValue: 'oops' }));
  assert.is(err.message, `${shown}: the variables envValue would hide the format writers of the same name`);
});

test('template(): renders at build time, then plans like a file', () => {
  const { file } = tpl('motd.ejs', 'Welcome to <%- v.host %>\n');
  const op = template({ path: '/etc/motd', template: file, vars: { host: 'web-01' }, mode: '0644', notify: ['noop'] });
  assert.is(op.id, 'template /etc/motd');
  assert.equal(op.notify, ['noop']);
  const created = op.plan({ get: <T>() => ({ exists: false }) as T })!;
  assert.is(created.summary, 'create /etc/motd');
  assert.match(created.diff!, '+Welcome to web-01');
  const same = op.plan({
    get: <T>() => ({ exists: true, kind: 'file', mode: '0644', owner: 'root', group: 'root', content: 'Welcome to web-01\n' }) as T,
  });
  assert.is(same, null);
});

test.run();
