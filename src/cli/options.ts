// Flags shared by the verbs that work on an inventory.
import { InvalidArgumentError, Option, type Command } from 'commander';

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
    .option('--json', 'print one JSON report on standard output (progress goes to standard error)')
    .option('-v, --verbose', 'show the commands behind every change')
    .option('--accept-new-host-keys', 'pin the key of a host seen for the first time (otherwise it is refused)')
    .option('--timeout <seconds>', 'deadline of every remote command (default: ssh.command_timeout, else 60 s and 15 min for installs)', positiveInt);
}

/** commander argParser for options such as --batch and --hosts. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}
