// The `tandem` command line as a function: argv and streams in, exit code out. main.ts runs it on
// the process; the unit tests run it in-process with captured streams.
import { Command, CommanderError } from 'commander';
import { InterruptedError, UsageError } from '../errors.ts';
import type { CliContext, CliIo } from './context.ts';
import { EXIT, EXIT_CODES_HELP, finish, exitCodeOf, type Outcome } from './exit.ts';
import { registerConverge } from './verbs/converge.ts';
import { registerLab } from './verbs/lab.ts';
import { registerVerify } from './verbs/verify.ts';
import { registerDemo } from './verbs/demo.ts';
import { registerDeploy } from './verbs/deploy.ts';
import { registerStatus } from './verbs/status.ts';
import { registerMonitor } from './verbs/monitor.ts';
import { registerPromote } from './verbs/promote.ts';

function newContext(io: CliIo): CliContext {
  let handler: (() => void) | undefined;
  const ctx: CliContext = {
    ...io,
    json: false,
    onInterrupt(h) {
      handler = h;
      return () => {
        if (handler === h) handler = undefined;
      };
    },
  };
  const onSignal = () => {
    if (handler) return handler();
    finish(ctx, { code: EXIT.interrupted, error: new InterruptedError('interrupted') });
    io.exit?.(EXIT.interrupted);
  };
  io.signals?.on('SIGINT', onSignal);
  io.signals?.on('SIGTERM', onSignal);
  return ctx;
}

/** Every command, its subcommands included: they all share the exit codes and output settings. */
function everyCommand(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(everyCommand)];
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('tandem')
    .description('Provision and maintain a load-balanced, replicated web stack over SSH')
    .showHelpAfterError('(add --help for the flags and the exit codes)')
    .enablePositionalOptions();
  registerConverge(program, ctx);
  registerVerify(program, ctx);
  registerDeploy(program, ctx);
  registerStatus(program, ctx);
  registerMonitor(program, ctx);
  registerPromote(program, ctx);
  registerDemo(program, ctx);
  registerLab(program, ctx);
  for (const cmd of everyCommand(program)) {
    cmd
      .exitOverride()
      .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) })
      .addHelpText('after', `\n${EXIT_CODES_HELP}`);
  }
  program.hook('preAction', (_program, verb) => {
    ctx.json = Boolean(verb.opts().json);
  });
  return program;
}

/** A commander failure: help and --version end well, anything else is a bad flag (exit 4). */
function commanderOutcome(err: CommanderError, ctx: CliContext): Outcome {
  if (err.exitCode === 0) {
    ctx.json = false; // --help was asked for: the help text is the output
    return { code: EXIT.ok };
  }
  return { code: EXIT.input, error: new UsageError(err.message.replace(/^error: /, ''), { cause: err }), told: 'always' };
}

/** Runs one command line (argv without node and the script) and returns its exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const ctx = newContext(io);
  // Before the verb's flags are parsed (a bad flag), --json is read from the words themselves.
  const end = argv.indexOf('--');
  ctx.json = (end < 0 ? argv : argv.slice(0, end)).includes('--json');
  let outcome: Outcome;
  try {
    await buildProgram(ctx).parseAsync(argv, { from: 'user' });
    outcome = ctx.outcome ?? { code: EXIT.ok };
  } catch (err) {
    outcome = err instanceof CommanderError ? commanderOutcome(err, ctx) : { code: exitCodeOf(err), error: err };
  }
  return finish(ctx, outcome);
}
