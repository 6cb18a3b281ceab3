// Where a run's time went, for the `timings` of the --json report: the run's own stages
// (start-up, inventory and secrets, release, recipes, the engine) and, per host, the time spent
// connecting, reading facts, planning, changing and running handlers. Hosts run in parallel, so
// their figures overlap each other and the engine's; a host stage is the sum of its intervals
// (facts read in several batches, one plan per op). The clock is passed in: the tests use a fake.

/** Milliseconds on one monotonic timeline. */
export type Clock = () => number;

export const RUN_STAGES = ['startup', 'inventory', 'release', 'recipes', 'engine'] as const;
export const HOST_STAGES = ['connect', 'facts', 'plan', 'apply', 'handlers'] as const;
export type RunStage = (typeof RUN_STAGES)[number];
export type HostStage = (typeof HOST_STAGES)[number];

export type HostTimingsReport = Record<`${HostStage}Ms`, number>;

export interface TimingsReport extends Partial<Record<`${RunStage}Ms`, number>> {
  /** From the process's start (or, without one, from the first stage) to the report. */
  totalMs: number;
  hosts: Record<string, HostTimingsReport>;
}

/** Runs `fn`, adds the time it took (resolved or thrown, sync or async) with `add`. */
function measure<T>(clock: Clock, add: (ms: number) => void, fn: () => T): T {
  const t0 = clock();
  let result: T;
  try {
    result = fn();
  } catch (err) {
    add(clock() - t0);
    throw err;
  }
  if (result instanceof Promise) return result.finally(() => add(clock() - t0)) as T;
  add(clock() - t0);
  return result;
}

export class HostTimer {
  private readonly ms = new Map<HostStage, number>();
  constructor(private readonly clock: Clock) {}

  /** Runs `fn` and adds its duration to `stage`. */
  time<T>(stage: HostStage, fn: () => T): T {
    return measure(this.clock, (ms) => this.ms.set(stage, (this.ms.get(stage) ?? 0) + ms), fn);
  }

  report(): HostTimingsReport {
    return Object.fromEntries(HOST_STAGES.map((s) => [`${s}Ms`, Math.round(this.ms.get(s) ?? 0)])) as HostTimingsReport;
  }
}

export class Timings {
  private readonly stages = new Map<RunStage, number>();
  private readonly hosts = new Map<string, HostTimer>();
  private readonly origin: number;

  /** `processStart`: the clock's reading when the process started (0 for performance.now()); it gives `startup`. */
  constructor(
    private readonly clock: Clock = () => performance.now(),
    private readonly processStart?: number,
  ) {
    this.origin = processStart ?? clock();
  }

  /** The start-up stage ends now: from the process's start to the verb's work, its modules loaded. */
  startupDone(): void {
    if (this.processStart !== undefined) this.add('startup', this.clock() - this.processStart);
  }

  /** Runs `fn` and adds its duration to `stage`. */
  time<T>(stage: RunStage, fn: () => T): T {
    return measure(this.clock, (ms) => this.add(stage, ms), fn);
  }

  host(name: string): HostTimer {
    let timer = this.hosts.get(name);
    if (!timer) this.hosts.set(name, (timer = new HostTimer(this.clock)));
    return timer;
  }

  report(): TimingsReport {
    const stages = Object.fromEntries(RUN_STAGES.filter((s) => this.stages.has(s)).map((s) => [`${s}Ms`, Math.round(this.stages.get(s)!)]));
    const hosts = Object.fromEntries([...this.hosts].map(([name, t]) => [name, t.report()]));
    return { ...stages, totalMs: Math.round(this.clock() - this.origin), hosts };
  }

  private add(stage: RunStage, ms: number): void {
    this.stages.set(stage, (this.stages.get(stage) ?? 0) + ms);
  }
}
