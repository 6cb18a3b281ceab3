// Plain lines, one per event worth telling: for CI logs and anything that is not a terminal.
import type { EngineEvent, EventSink } from '../../engine/events.ts';
import { colorizer, opLine } from './format.ts';

export function lineRenderer(stream: NodeJS.WriteStream, opts: { verbose: boolean }): EventSink {
  const c = colorizer(stream);
  let mode: 'plan' | 'apply' = 'apply';
  const write = (s: string) => stream.write(s + '\n');
  return (e: EngineEvent) => {
    switch (e.type) {
      case 'run:start':
        mode = e.mode;
        write(`${e.mode} ${e.hosts.join(', ')}: phases ${e.phases.join(' -> ')}`);
        break;
      case 'phase:start':
        write(c.bold(`== ${e.phase} (${e.hosts.join(', ') || 'no hosts'})`));
        break;
      case 'op:end':
        // A plan's changes are printed once, with their diffs, by the plan text at the end.
        if (e.status === 'failed' || (mode === 'apply' && e.status !== 'ok') || opts.verbose) write(`[${e.host}] ${opLine(e, mode, c)}`);
        break;
      case 'handler:end':
        write(`[${e.host}] ${e.status === 'failed' ? c.red('✖ handler') : c.yellow('↻ handler')} ${e.handler}${e.owed ? ' (owed by an earlier run that stopped before it)' : ''}${e.error ? `: ${e.error}` : ''}`);
        break;
      case 'host:failed':
        write(`[${e.host}] ${c.red('✖')} ${e.error}`);
        break;
      case 'work:skipped':
        write(`[${e.host}] ${c.yellow('- skipped')} ${e.phase}: ${e.reason}`);
        break;
      case 'host:waiting':
        write(`[${e.host}] ${c.yellow('…')} waiting: ${e.message}`);
        break;
      case 'host:warning':
        write(`[${e.host}] ${c.yellow('!')} ${e.message}`);
        break;
      default:
        break;
    }
  };
}
