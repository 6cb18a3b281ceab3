// Templates are rendered locally with ejs, then managed like any file. A template error names
// the template file and line.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ejs from 'ejs';
import { TemplateError } from '../errors.ts';
import { file, type FileArgs } from './file.ts';
import type { Op } from '../engine/types.ts';

export const TEMPLATES_DIR = path.resolve(import.meta.dirname, '../../templates');

/** Where templates are read from: TANDEM_TEMPLATES overrides the shipped folder (customised copies). */
export function templatesDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TANDEM_TEMPLATES ? path.resolve(env.TANDEM_TEMPLATES) : TEMPLATES_DIR;
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
  try {
    // A variable the template names but the recipe did not pass is an error, not an empty string.
    const strictVars = new Proxy(vars, {
      get(target, key, receiver) {
        if (typeof key === 'string' && !(key in target) && key !== 'then' && key !== 'toJSON') {
          throw new ReferenceError(`${key} is not defined`);
        }
        return Reflect.get(target, key, receiver);
      },
    });
    const options = { filename: abs, strict: true, localsName: 'v', async: false, unsafePrototypeLocals: true } as ejs.Options & { async: false };
    return ejs.render(source, strictVars, options);
  } catch (err) {
    // ejs puts "<file>:<line>" and a source excerpt in the message; keep the line and the reason.
    const msg = (err as Error).message;
    const line = /:(\d+)\n/.exec(msg)?.[1];
    const reason = msg.split('\n').filter(Boolean).pop() ?? msg;
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
