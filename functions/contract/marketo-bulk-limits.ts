/**
 * Marketo's Bulk API limits per instance, shared by every integration that calls it (Marketo Developer docs,
 * "Bulk Extract" and "Bulk Import", Limits): 2 extract jobs processing at once and 10 queued including those
 * (enqueueing past it: 1029 "Too many jobs in queue"), 500 MB of extracted files a day reset at 12:00 AM US
 * Central (past it, create and enqueue answer 1029 "Export daily quota exceeded"); 2 imports at once and 10
 * queued (1016 "Too many imports"). The queues count jobs from enqueue until they finish, so the vendor hands
 * out one slot per queue place: a job holds it from before its enqueue to its end. The construct, the
 * runtime (`BULK_LIMITS`) and the simulator take these values from here.
 */

import { limitValueProblem } from './marketo-limits.js';

/** The two queues of Marketo's Bulk API. */
export type BulkKind = 'extract' | 'import';

export const BULK_KINDS: readonly BulkKind[] = ['extract', 'import'];

export interface BulkLimits {
  /** Extract jobs in Marketo's queue at once, processing included. @default 10 */
  readonly extractJobs: number;
  /** Import jobs in Marketo's queue at once, processing included. @default 10 */
  readonly importJobs: number;
  /**
   * Bytes of extracted files per quota day (00:00 America/Chicago). Marketo says "500 MB": the vendor reads
   * it as 500,000,000 bytes, the smaller of the two readings. @default 500_000_000
   */
  readonly exportDailyBytes: number;
  /**
   * Share of every limit held back for integrations that do not use the vendor (0 to 0.9): with 0.2 the
   * vendor hands out 8 extract slots, 8 import slots and 400 MB a day. @default 0
   */
  readonly reservedShare: number;
}

/** Marketo's documented Bulk API limits: the defaults of every instance. */
export const MARKETO_BULK_LIMITS: BulkLimits = Object.freeze({
  extractJobs: 10,
  importJobs: 10,
  exportDailyBytes: 500_000_000,
  reservedShare: 0,
});

/** Jobs Marketo processes at once per kind (the rest of the queue waits): what the simulator plays. */
export const MARKETO_BULK_PROCESSING: Readonly<Record<BulkKind, number>> = Object.freeze({
  extract: 2,
  import: 2,
});

/** The values an operator may set each Bulk limit to, inclusive: never past Marketo's queues. */
export const BULK_LIMIT_RANGES: Readonly<Record<keyof BulkLimits, readonly [number, number]>> = Object.freeze(
  {
    extractJobs: [1, 10],
    importJobs: [1, 10],
    exportDailyBytes: [1, 1_000_000_000_000],
    reservedShare: [0, 0.9],
  },
);

/**
 * Why a Bulk limits override (construct config, `BULK_LIMITS` env) is not valid, naming the field and the
 * value received; `undefined` when it is. Fields left `undefined` are not checked.
 */
export function bulkLimitsOverrideProblem(
  override: Partial<Record<keyof BulkLimits, unknown>>,
): string | undefined {
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    const range = BULK_LIMIT_RANGES[key as keyof BulkLimits];
    if (!range) return `unknown bulk limit "${key.slice(0, 40)}"`;
    const problem = limitValueProblem(key, value, range);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
