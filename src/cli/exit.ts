// Turning failures into a message and an exit code. Foreseeable failures (TandemError) print
// their message only; anything else is a bug and keeps its stack.
import { TandemError } from '../errors.ts';

export function printError(err: unknown): void {
  if (err instanceof TandemError) {
    process.stderr.write(`error: ${err.message}\n`);
  } else {
    process.stderr.write(`internal error (please report): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
}

/** Run a verb's action: exit with its code, or 1 with a clean message on failure. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await fn(...args);
    } catch (err) {
      printError(err);
      process.exitCode = 1;
    }
  };
}
