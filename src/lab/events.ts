// Progress reporting: src/lab never prints; callers pass a callback that receives these events.
export type LabEvent =
  | { type: 'step'; message: string; host?: string }
  | { type: 'done'; message: string; host?: string; ms: number }
  | { type: 'info'; message: string; host?: string }
  | { type: 'warn'; message: string; host?: string };

export type Progress = (event: LabEvent) => void;

export const silent: Progress = () => {};

/** Runs `fn` between a `step` and a `done` event carrying its duration. */
export async function step<T>(progress: Progress, message: string, fn: () => Promise<T>, host?: string): Promise<T> {
  const started = Date.now();
  progress(host === undefined ? { type: 'step', message } : { type: 'step', message, host });
  const result = await fn();
  const ms = Date.now() - started;
  progress(host === undefined ? { type: 'done', message, ms } : { type: 'done', message, host, ms });
  return result;
}
