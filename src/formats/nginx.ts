// Nginx's configuration (ngx_conf_read_token in src/core/ngx_conf_file.c): words are separated by
// spaces, `;` `{` `}` end a directive, `#` starts a comment; inside double quotes \" \' \\ stand for
// the character (\t \r \n for controls, any other backslash stays). A `$` starts a variable in
// every directive that takes variables, and nginx has no escape for it: it is refused.
import { asText, PLAIN, refuseChars, refuseControls } from './text.ts';

const NGINX_CONFIG = 'an Nginx configuration file';

/** One word (argument) of a directive. */
export function nginxWord(value: unknown): string {
  const s = asText(value, NGINX_CONFIG);
  refuseControls(s, NGINX_CONFIG);
  refuseChars(s, '$', NGINX_CONFIG, 'nginx reads it as the start of a variable and has no escape for it');
  if (PLAIN.test(s)) return s;
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
