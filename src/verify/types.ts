// A verification check's result: pass or fail, with the figure it measured.
export interface CheckResult {
  check: string;
  /** The host the check ran against, when it is about one host. */
  host?: string;
  ok: boolean;
  /** What was measured: "canary 12 ms", "2/2 backends UP". */
  figure: string;
  /** Why it failed, in the words of whatever failed. */
  detail?: string;
  durationMs: number;
  /** The firewall check's ports, as probed from this machine (port, expected, seen). */
  rows?: import('./firewall.ts').PortRow[];
}

export type CheckSink = (result: CheckResult) => void;
