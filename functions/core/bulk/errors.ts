import type { BulkKind } from '../../contract/index.js';
import { retryAfterSecondsFor, TokenVendorError } from '../errors.js';

/** Why no slot now: every place of the kind is held, or the jobs in flight may use up the day's export quota. */
export type BulkWaitReason = 'slots' | 'export-quota' | 'contention';

/** No Bulk API slot right now. Ask again after `retryAfterMs`. */
export class BulkSlotUnavailableError extends TokenVendorError {
  readonly code = 'BulkSlotUnavailable' as const;
  readonly reason: BulkWaitReason;
  readonly retryAfterMs: number;

  constructor(kind: BulkKind, reason: BulkWaitReason, retryAfterMs: number) {
    const what =
      reason === 'slots'
        ? `every ${kind} place of the instance's Bulk API queue is held`
        : reason === 'export-quota'
          ? "the extract jobs in flight may use up the instance's daily export quota"
          : 'too many consumers raced for the same slot';
    super(`${what}: retry in ${retryAfterMs} ms`, {
      retryAfterSeconds: retryAfterSecondsFor(retryAfterMs),
    });
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The instance's daily Bulk Extract quota (500 MB by default) is used up until `resetsAt` (00:00
 * America/Chicago): Marketo would answer a create or enqueue with 1029 "Export daily quota exceeded".
 */
export class DailyExportQuotaExhaustedError extends TokenVendorError {
  readonly code = 'DailyExportQuotaExhausted' as const;
  /** Epoch ms. */
  readonly resetsAt: number;

  constructor(resetsAt: number, now: number, usedBytes: number, quotaBytes: number) {
    super(
      `the instance's daily export quota is used up (${usedBytes} of ${quotaBytes} bytes); it resets at ${new Date(resetsAt).toISOString()}`,
      { retryAfterSeconds: retryAfterSecondsFor(resetsAt - now) },
    );
    this.resetsAt = resetsAt;
  }
}

/**
 * The slot named is not held by the caller: its lease lapsed and its place was taken, it was never granted,
 * or another principal (or client) holds it.
 */
export class BulkSlotNotHeldError extends TokenVendorError {
  readonly code = 'BulkSlotNotHeld' as const;
}
