// Building remote shell commands. This is the one place where a value is quoted for a POSIX
// shell: commands are argv arrays (quoted here, at the edge), or scripts written with the `sh`
// template, which quotes every value put into it. Nothing else in tandem quotes by hand.

/** POSIX single quoting; plain words stay as they are, so commands read naturally in logs. */
export function shellQuote(arg: string): string {
  if (arg === '') return "''";
  if (/^[A-Za-z0-9_\/.,:=@%+-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** Shell text that goes into an `sh` template as it is: a fragment built by `sh`, or a constant. */
export class ShellText {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Mark shell text (never a value from outside) to be put into an `sh` template unquoted. */
export function raw(text: string): ShellText {
  return new ShellText(text);
}

export type ShellValue = string | number | ShellText | readonly string[];

/**
 * A script with every interpolated value quoted: strings become one word each, arrays one word
 * per element, numbers stay numbers, and only `raw(...)` text goes in unquoted.
 *   sh`ln -sfn ${target} ${link}`  ->  ln -sfn '/srv/my app' /srv/current
 */
export function sh(strings: TemplateStringsArray, ...values: ShellValue[]): string {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return out;
}

function render(v: ShellValue): string {
  if (v instanceof ShellText) return v.text;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`not a number for a shell script: ${v}`);
    return String(v);
  }
  if (typeof v === 'string') return shellQuote(v);
  return shellJoin(v);
}

/** Seconds the remote `timeout` waits after its TERM before it sends KILL. */
export const KILL_AFTER_SECONDS = 3;

export interface RemoteWrap {
  /** Not root: go through `sudo -n` (fails at once instead of waiting for a password). */
  sudo: boolean;
  /** Run under coreutils `timeout`, so a command past its deadline is killed on the server too. */
  timeoutSeconds?: number;
}

/**
 * The one command line sent to the server for an argv or a script. `timeout` puts the command
 * in its own process group and signals the whole group, so children (an apt hook, a dump) go too.
 */
export function remoteCommandLine(req: { argv?: readonly string[]; script?: string }, wrap: RemoteWrap): string {
  const prefix = [
    ...(wrap.sudo ? ['sudo', '-n', '--'] : []),
    ...(wrap.timeoutSeconds ? ['timeout', '-k', String(KILL_AFTER_SECONDS), String(wrap.timeoutSeconds)] : []),
  ];
  return shellJoin([...prefix, ...(req.argv ?? ['sh', '-c', req.script ?? ''])]);
}

/** A short description of a request for messages: the argv, or the first line of the script. */
export function describeRequest(req: { argv?: readonly string[]; script?: string }): string {
  if (req.argv) return shellJoin(req.argv);
  const lines = (req.script ?? '').trim().split('\n');
  return lines.length > 1 ? `${lines[0]} …` : (lines[0] ?? '');
}
