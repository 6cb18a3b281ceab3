// Pure: the figures a benchmark reports from its samples (milliseconds): median, spread (min-max),
// and the ratio of two medians, formatted for a table.

export interface Summary {
  runs: number;
  median: number;
  min: number;
  max: number;
}

/** The median of an odd count is the middle sample; of an even count, the mean of the middle two. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('no samples to summarize');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { runs: sorted.length, median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** 950 -> "0.95 s"; 61_250 -> "61.3 s": seconds, three significant figures at most. */
export function seconds(ms: number): string {
  const s = ms / 1000;
  return `${s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s.toFixed(2)} s`;
}

/** "0.95 s (0.91-1.02, 5 runs)". */
export function describe(s: Summary): string {
  const spread = s.runs > 1 ? `${seconds(s.min).replace(/ s$/, '')}-${seconds(s.max)}, ` : '';
  return `${seconds(s.median)} (${spread}${s.runs} run${s.runs === 1 ? '' : 's'})`;
}

/** a's median over b's: "2.31x"; nothing when either is missing or b's median is 0. */
export function ratio(a: Summary | undefined, b: Summary | undefined): string | undefined {
  if (!a || !b || b.median === 0) return undefined;
  return `${(a.median / b.median).toFixed(2)}x`;
}
