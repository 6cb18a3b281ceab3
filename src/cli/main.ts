// The `tandem` command on this process: its arguments, streams, environment and signals.
import { main } from './program.ts';

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signals: process,
  exit: (code) => process.exit(code),
});
