// The terminal view: one listr2 task per host, its title following that host's events.
// The engine runs on its own; this only listens, so running and rendering stay apart.
import { Listr, ListrLogger, ProcessOutput } from 'listr2';
import type { EngineEvent, EventSink } from '../../engine/events.ts';

interface HostView {
  resolve(): void;
  reject(err: Error): void;
  setTitle?(title: string): void;
  setOutput?(text: string): void;
  changed: number;
  ok: number;
  /** Failures so far: a host goes on with work that does not need what failed, so its task ends at host:end. */
  errors: string[];
}

export interface ListrView {
  sink: EventSink;
  /** Resolves once every host task has finished rendering. */
  done: Promise<void>;
}

export function listrRenderer(hosts: string[], stream: NodeJS.WriteStream, mode: 'plan' | 'apply'): ListrView {
  const views = new Map<string, HostView>();
  const ready = new Map<string, Promise<void>>();
  for (const h of hosts) {
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const p = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    views.set(h, { resolve, reject, changed: 0, ok: 0, errors: [] });
    ready.set(h, p);
  }
  const list = new Listr(
    hosts.map((h) => ({
      title: h,
      task: async (_ctx: unknown, task: { title: string; output: string }) => {
        const v = views.get(h)!;
        v.setTitle = (t) => (task.title = t);
        v.setOutput = (t) => (task.output = t);
        await ready.get(h);
      },
    })),
    {
      concurrent: true,
      exitOnError: false,
      registerSignalListeners: false,
      rendererOptions: { logger: new ListrLogger({ processOutput: new ProcessOutput(stream, stream) }), collapseErrors: false },
    },
  );
  const done = list.run().then(
    () => undefined,
    () => undefined,
  );
  const verb = mode === 'plan' ? 'to change' : 'changed';
  const sink: EventSink = (e: EngineEvent) => {
    switch (e.type) {
      case 'host:connect':
        views.get(e.host)?.setTitle?.(`${e.host}: connecting`);
        break;
      case 'op:start':
        views.get(e.host)?.setTitle?.(`${e.host}: ${e.phase}: ${e.op}`);
        break;
      case 'op:end': {
        const v = views.get(e.host);
        if (!v) break;
        if (e.status === 'ok') v.ok++;
        else if (e.status !== 'failed') v.changed++;
        if (e.status !== 'ok') v.setOutput?.(`${e.op}: ${e.status === 'failed' ? e.error : e.summary}`);
        break;
      }
      case 'host:waiting':
        views.get(e.host)?.setOutput?.(`waiting: ${e.message}`);
        break;
      case 'host:failed':
        views.get(e.host)?.errors.push(e.error);
        views.get(e.host)?.setOutput?.(`failed: ${e.error}`);
        break;
      case 'work:skipped':
        views.get(e.host)?.setOutput?.(`skipped ${e.phase}: ${e.reason}`);
        break;
      case 'host:end': {
        const v = views.get(e.host);
        if (!v) break;
        if (e.failed || v.errors.length) v.reject(new Error(`${e.host}: ${v.changed} ${verb}, ${v.ok} ok; ${v.errors.join('; ')}`));
        else {
          v.setTitle?.(`${e.host}: ${v.changed} ${verb}, ${v.ok} ok`);
          v.resolve();
        }
        break;
      }
      default:
        break;
    }
  };
  return { sink, done };
}
