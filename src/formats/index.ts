// The format writers: each returns a value in its file's own syntax, or throws a FormatError when
// that syntax cannot hold it. Templates get them as plain functions (see src/ops/template.ts).
import { InventoryError } from '../errors.ts';
import { aptString } from './apt.ts';
import { haproxyWord } from './haproxy.ts';
import { keepalivedWord } from './keepalived.ts';
import { optionName, optionValue } from './mysql-option.ts';
import { nginxWord } from './nginx.ts';
import { envValue, unitArg, unitValue } from './systemd.ts';
import { FormatError } from './text.ts';
import { goIniValue } from './go-ini.ts';
import { yamlString } from './yaml.ts';

export { FormatError } from './text.ts';
export { aptString, envValue, goIniValue, haproxyWord, keepalivedWord, nginxWord, optionName, optionValue, unitArg, unitValue, yamlString };

/** What a template can call, by name: `<%- envValue(v.dbPassword) %>`. */
export const TEMPLATE_HELPERS = { envValue, unitValue, unitArg, optionName, optionValue, aptString, haproxyWord, nginxWord, keepalivedWord, goIniValue, yamlString } as const;

/** write(value), a refusal becoming an InventoryError that names where the value came from. */
export function fieldValue<T>(field: string, write: (value: T) => string, value: T): string {
  try {
    return write(value);
  } catch (err) {
    if (err instanceof FormatError) throw new InventoryError([`${field}: ${err.message}`]);
    throw err;
  }
}
