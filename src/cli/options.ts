// Flags shared by the verbs, and the parsers that refuse a bad flag value before anything runs
// (commander reports them as usage errors: exit 4).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { VERSION_RE } from '../release/version.ts';

export interface CommonOptions {
  inventory: string;
  limit?: string;
  json?: boolean;
  verbose?: boolean;
  acceptNewHostKeys?: boolean;
  /** --timeout: seconds every remote command may take (overrides ssh.command_timeout). */
  timeout?: number;
}

export function addCommonOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-i, --inventory <file>', 'inventory file').default('inventory/lab.yml'))
    .option('--limit <hosts>', 'only these hosts (comma-separated names)')
    .option('--json', 'print one JSON document on standard output, failures included (progress goes to standard error)')
    .option('-v, --verbose', 'show the commands behind every change')
    .option('--accept-new-host-keys', 'pin the key of a host seen for the first time (otherwise it is refused; a revoked key never is)')
    .option('--timeout <seconds>', 'deadline of every remote command (default: ssh.command_timeout, else 60 s and 15 min for installs)', positiveInt);
}

/** --parallel: plan and apply only; it overrides the inventory's `parallel`. */
export function addParallelOption(cmd: Command): Command {
  return cmd.option('--parallel <servers>', 'how many servers to work on at once (default: the inventory\'s parallel, else 20)', positiveInt);
}

/** commander argParser for options such as --batch and --hosts. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** A duration such as --max-lag: a number of seconds, zero or more. */
export function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number of seconds, such as 10 or 2.5');
  return n;
}

/** --version: it names the release's folder on every server, so only a safe alphabet. */
export function releaseVersion(value: string): string {
  if (!VERSION_RE.test(value)) throw new InvalidArgumentError('expected letters, digits, . _ + - (at most 64), starting with a letter or digit');
  return value;
}

/** --to: a release id as `tandem status` shows it (version-hash). */
export function releaseId(value: string): string {
  if (!/^[0-9A-Za-z][0-9A-Za-z._+-]{0,80}$/.test(value)) throw new InvalidArgumentError('expected a release id as `tandem status` shows it, such as 1.2.0-3f9c2a1b4d5e');
  return value;
}
