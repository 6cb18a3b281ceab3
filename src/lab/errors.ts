// The lab's errors are the project's own (src/errors.ts): a LabError carries a hint, printed by the
// CLI under the message, and its exit code follows from its class like any other failure.
import { LabError } from '../errors.ts';

export { LabError };

export function isLabError(err: unknown): err is LabError {
  return err instanceof LabError;
}
