// Typed events: the engine's only output channel. Renderers (src/cli/render) turn them into text.
import type { Phase } from './types.ts';

export type Mode = 'plan' | 'apply';
export type OpStatus = 'ok' | 'changed' | 'failed' | 'pending';

export interface OpResult {
  host: string;
  phase: Phase;
  op: string;
  status: OpStatus;
  /** What changed (apply) or would change (plan). */
  summary?: string;
  diff?: string;
  /** Commands as a person reads them, secrets masked. */
  commands?: string[];
  error?: string;
  durationMs: number;
}

export interface HandlerResult {
  host: string;
  phase: Phase;
  handler: string;
  status: 'changed' | 'failed';
  error?: string;
  /** Run because an earlier run changed files for it and stopped before it ran. */
  owed?: boolean;
  durationMs: number;
}

export type EngineEvent =
  | { type: 'run:start'; mode: Mode; hosts: string[]; phases: Phase[] }
  | { type: 'phase:start'; phase: Phase; hosts: string[] }
  | { type: 'host:connect'; host: string }
  | { type: 'host:phase'; host: string; phase: Phase; ops: number }
  | { type: 'op:start'; host: string; phase: Phase; op: string }
  | ({ type: 'op:end' } & OpResult)
  | ({ type: 'handler:end' } & HandlerResult)
  | { type: 'host:failed'; host: string; phase: Phase; error: string }
  /** A host's work in one phase did not run: work it needs failed, was skipped, or its host was not reached. */
  | { type: 'work:skipped'; host: string; phase: Phase; reason: string }
  /** A running command waits on something outside tandem (another process's dpkg lock): said while it lasts. */
  | { type: 'host:waiting'; host: string; command: string; message: string }
  /** Something went wrong beside the host's result (a restore, a cleanup); the CLI prints it. */
  | { type: 'host:warning'; host: string; message: string }
  | { type: 'host:end'; host: string; failed: boolean }
  | { type: 'run:end'; report: RunReport };

export type EventSink = (event: EngineEvent) => void;

export interface HostReport {
  ok: number;
  changed: number;
  failed: number;
  ops: OpResult[];
  handlers: HandlerResult[];
  /** Failed restores and cleanups: they do not change the result, but a person must hear of them. */
  warnings: string[];
  /** Work that did not run because work it needs did not succeed, and why. */
  skipped?: { phase: Phase; reason: string }[];
  error?: string;
}

export interface RunReport {
  mode: Mode;
  summary: { ok: number; changed: number; failed: number };
  hosts: Record<string, HostReport>;
  roundTrips: Record<string, number>;
  durationMs: number;
}
