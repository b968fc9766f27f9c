import { retryAfterSecondsFor, TokenVendorError } from '../errors.js';
import type { WaitReason } from './state.js';

/** No permit right now: the instance's rate window or concurrency is in use. Retry after `retryAfterMs`. */
export class PermitUnavailableError extends TokenVendorError {
  readonly code = 'PermitUnavailable' as const;
  readonly reason: WaitReason | 'contention';
  readonly retryAfterMs: number;

  constructor(reason: WaitReason | 'contention', retryAfterMs: number) {
    const what = {
      rate: "the instance's rate window is full",
      concurrency: "the instance's concurrent calls are all in use",
      'client-share': "this client holds its share of the instance's concurrent calls",
      contention: 'too many consumers raced for the same permit',
    }[reason];
    super(`${what}: retry in ${retryAfterMs} ms`, {
      retryAfterSeconds: retryAfterSecondsFor(retryAfterMs),
    });
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The instance's daily quota (Marketo 607) is used up until `resetsAt` (00:00 America/Chicago). */
export class DailyQuotaExhaustedError extends TokenVendorError {
  readonly code = 'DailyQuotaExhausted' as const;
  /** Epoch ms. */
  readonly resetsAt: number;

  constructor(resetsAt: number, now: number) {
    super(`the instance's daily API quota is used up; it resets at ${new Date(resetsAt).toISOString()}`, {
      retryAfterSeconds: retryAfterSecondsFor(resetsAt - now),
    });
    this.resetsAt = resetsAt;
  }
}
