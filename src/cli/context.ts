// What a CLI run writes to and reads from, handed to every verb: verbs write only to these
// streams, take the secrets and the release cache from this environment and never exit the
// process themselves, so the whole CLI runs in-process in the unit tests.
import type { EventEmitter } from 'node:events';
import type { Redactor } from '../secrets/secret.ts';
import type { Outcome } from './exit.ts';

export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  /** Where SIGINT and SIGTERM come from (the process); absent in tests. */
  signals?: EventEmitter;
  /** Quit at once (a second Ctrl-C); absent in tests. */
  exit?: (code: number) => void;
  /** performance.now() when the process started (0), for the start-up time in --json; absent in tests. */
  processStart?: number;
}

export interface CliContext extends CliIo {
  /** --json: stdout carries one JSON document, everything else goes to stderr. */
  json: boolean;
  /** Masks the run's secrets in any error printed; set once the secrets are loaded. */
  redactor?: Redactor;
  /** What the verb returned, printed (and turned into the exit code) by main. */
  outcome?: Outcome;
  /**
   * Replace what Ctrl-C does while a verb runs (deploy puts servers back first); returns the
   * function that restores the default (print "interrupted", exit 130).
   */
  onInterrupt(handler: () => void): () => void;
}

/** Where progress and human-readable text go: stderr with --json, else stdout. */
export function textStream(ctx: CliContext, json = ctx.json): NodeJS.WriteStream {
  return json ? ctx.stderr : ctx.stdout;
}
