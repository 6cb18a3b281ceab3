// Templates are rendered locally with ejs, then managed like any file. A template error names
// the template file and line. Templates never HTML-escape: `<%=` is refused, and every value is
// written with `<%-` through the writer of the file's own syntax (src/formats), which the
// template calls by name: `DB_PASSWORD=<%- envValue(v.dbPassword) %>`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ejs from 'ejs';
import { InventoryError, TemplateError } from '../errors.ts';
import { FormatError, TEMPLATE_HELPERS } from '../formats/index.ts';
import { file, type FileArgs } from './file.ts';
import type { Op } from '../engine/types.ts';
import { PACKAGE_ROOT } from '../package-root.ts';

export const TEMPLATES_DIR = path.join(PACKAGE_ROOT, 'templates');

/** Where templates are read from: TANDEM_TEMPLATES overrides the shipped folder (customised copies). */
export function templatesDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TANDEM_TEMPLATES ? path.resolve(env.TANDEM_TEMPLATES) : TEMPLATES_DIR;
}

const HELPER_NAMES = Object.keys(TEMPLATE_HELPERS);

const escapingRefused = (shown: string, line: number) =>
  new TemplateError(
    `${shown}:${line}: <%= writes HTML entities (& becomes &amp;); write <%- helper(value) %> with the writer of this file's syntax, such as envValue or nginxWord (docs/recipes.md)`,
  );

/** The line of the first `<%=` tag (`<%%=` is literal text), if any. */
export function htmlEscapingLine(source: string): number | undefined {
  const at = /<%_?=/.exec(source);
  return at ? source.slice(0, at.index).split('\n').length : undefined;
}

export function renderTemplate(templatePath: string, vars: Record<string, unknown>): string {
  const abs = path.resolve(templatesDir(), templatePath);
  const shown = path.relative(process.cwd(), abs);
  let source: string;
  try {
    source = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new TemplateError(`${shown}: cannot read the template (${(err as Error).message})`, { cause: err });
  }
  const escapingAt = htmlEscapingLine(source);
  if (escapingAt !== undefined) throw escapingRefused(shown, escapingAt);
  const shadowing = HELPER_NAMES.filter((n) => n in vars);
  if (shadowing.length) throw new TemplateError(`${shown}: the variables ${shadowing.join(', ')} would hide the format writers of the same name`);
  try {
    // A variable the template names but the recipe did not pass is an error, not an empty string.
    const strictVars = new Proxy({ ...vars, ...TEMPLATE_HELPERS }, {
      get(target, key, receiver) {
        if (typeof key === 'string' && !(key in target) && key !== 'then' && key !== 'toJSON') {
          throw new ReferenceError(`${key} is not defined`);
        }
        return Reflect.get(target, key, receiver);
      },
    });
    const options = {
      filename: abs,
      strict: true,
      localsName: 'v',
      destructuredLocals: HELPER_NAMES,
      // ejs calls this for `<%=` (refused above) and to show the file name in its errors.
      escape: (text: unknown) => {
        if (text === abs) return abs;
        throw escapingRefused(shown, 0);
      },
      async: false,
      unsafePrototypeLocals: true,
    } as ejs.Options & { async: false };
    return ejs.render(source, strictVars, options);
  } catch (err) {
    if (err instanceof TemplateError) throw err;
    // ejs puts "<file>:<line>" and a source excerpt in the message; keep the line and the reason.
    const msg = (err as Error).message;
    const line = /:(\d+)\n/.exec(msg)?.[1];
    const reason = msg.split('\n').filter(Boolean).pop() ?? msg;
    // A value the file's syntax cannot hold is bad input, not a broken template.
    if (err instanceof FormatError) throw new InventoryError([`${shown}${line ? `:${line}` : ''}: ${reason}`]);
    throw new TemplateError(`${shown}${line ? `:${line}` : ''}: ${reason}`, { cause: err });
  }
}

export interface TemplateArgs extends Omit<FileArgs, 'content'> {
  template: string;
  vars: Record<string, unknown>;
}

export function template(args: TemplateArgs): Op {
  const { template: tpl, vars, ...rest } = args;
  const op = file({ ...rest, content: renderTemplate(tpl, vars) });
  return { ...op, id: `template ${args.path}` };
}
