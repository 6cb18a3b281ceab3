// What Ctrl-C does while a verb runs commands on hosts. The first one starts no new step (an op
// or handler: the one in progress ends with its own commands, as a step cut in half could leave a
// service stopped), says which remote commands still run and lets them end (each within its own deadline): closing the
// connection under apt or dpkg could leave packages half-configured. A second one abandons them,
// saying what may still run, and quits at once.
import type { CliContext } from './context.ts';
import { EXIT } from './exit.ts';

export interface RunningCommands {
  running(): { host: string; command: string }[];
}

export function runningText(running: { host: string; command: string }[]): string {
  return running.map((r) => `  ${r.host}: ${r.command}`).join('\n');
}

export function interruptHandler(controller: AbortController, commands: RunningCommands, out: NodeJS.WritableStream, ctx: Pick<CliContext, 'exit'>): () => void {
  return () => {
    const running = commands.running();
    if (controller.signal.aborted) {
      out.write(
        running.length
          ? `\nabandoned; these may still run on the servers:\n${runningText(running)}\nthe run lock ends as tandem quits (with its connections): a new run may meet these still running\n`
          : '\nabandoned\n',
      );
      ctx.exit?.(EXIT.interrupted);
      return;
    }
    controller.abort();
    out.write(
      running.length
        ? `\nstopping: no new step starts, each host ends the step it is in; waiting for what still runs (each command within its own deadline; Ctrl-C again to abandon it):\n${runningText(running)}\n`
        : '\nstopping: no new step starts, each host ends the step it is in\n',
    );
  };
}
