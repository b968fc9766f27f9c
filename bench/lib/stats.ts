/** Small descriptive statistics for benchmark samples (no dependencies). */

/** Distribution summary of a sample, in the sample's own unit. */
export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
  readonly stdev: number;
}

/** The `q` quantile (0..1) of an ascending-sorted sample, nearest-rank (no interpolation surprises). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

/** Summarises a sample; an empty sample gives NaN everywhere and count 0. */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const count = sorted.length;
  const mean = count === 0 ? Number.NaN : sorted.reduce((s, v) => s + v, 0) / count;
  const variance = count < 2 ? 0 : sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / (count - 1);
  return {
    count,
    min: sorted[0] ?? Number.NaN,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted[count - 1] ?? Number.NaN,
    mean,
    stdev: Math.sqrt(variance),
  };
}

/** A number with sensible precision for tables: 3 significant digits below 100, integers above. */
export function fmt(value: number, unit = ''): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  const text =
    abs >= 100
      ? Math.round(value).toLocaleString('en-US')
      : abs >= 10
        ? value.toFixed(1)
        : abs >= 0.1 || abs === 0
          ? value.toFixed(2)
          : value.toFixed(3);
  return `${text}${unit}`;
}

/** `p50 x (p95 y, p99 z, max w)` in one cell. */
export function spread(summary: Summary, unit = ' ms'): string {
  return `${fmt(summary.p50, unit)} (p95 ${fmt(summary.p95)}, p99 ${fmt(summary.p99)}, max ${fmt(summary.max)})`;
}

/** High-resolution milliseconds since an arbitrary origin. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Mulberry32: a small seeded PRNG in [0, 1), so a simulation spreads the same instants on every run. */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};
