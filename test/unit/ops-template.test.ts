// Templates: rendered locally with ejs (variables as v.name), then managed like a file. A template
// mistake is a TemplateError that names the template file and the line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderTemplate, template } from '../../src/ops/template.ts';
import { TemplateError } from '../../src/errors.ts';

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

/** The TemplateError thrown by fn (fails the test when there is none). */
function templateError(fn: () => unknown): TemplateError {
  try {
    const out = fn();
    assert.unreachable(`expected a TemplateError, rendered ${JSON.stringify(out)}`);
  } catch (err) {
    if (err instanceof TemplateError) return err;
    throw err;
  }
  throw new Error('unreachable');
}

test('renderTemplate: values, loops and conditions render; the output is exact', () => {
  const { file } = tpl(
    'backends.cfg.ejs',
    [
      'backend app',
      '    balance <%= v.algorithm %>',
      '<% for (const s of v.servers) { -%>',
      '    server <%= s.name %> <%= s.address %>:<%= v.port %> check',
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
  const { file, shown } = tpl('missing.conf.ejs', 'server {\n    listen <%= v.port %>;\n    server_name <%= v.server_name %>;\n}\n');
  const err = templateError(() => renderTemplate(file, { port: 80 }));
  assert.match(err.message, `${shown}:3: `);
  assert.match(err.message, 'server_name');
});

test('renderTemplate: a bare name (not v.name) is an error naming the file and line', () => {
  const { file, shown } = tpl('bare.conf.ejs', 'a\nb\nport=<%= port %>\n');
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

test('template(): renders at build time, then plans like a file', () => {
  const { file } = tpl('motd.ejs', 'Welcome to <%= v.host %>\n');
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
