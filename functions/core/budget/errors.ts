import { TokenVendorError } from '../errors.js';

/** No permit right now: the instance's rate window or concurrency is in use. Retry after `retryAfterMs`. */
export class PermitUnavailableError extends TokenVendorError {
  readonly code = 'PermitUnavailable' as const;
  readonly reason: 'rate' | 'concurrency' | 'contention';
  readonly retryAfterMs: number;

  constructor(reason: 'rate' | 'concurrency' | 'contention', retryAfterMs: number) {
    const what =
      reason === 'rate'
        ? "the instance's rate window is full"
        : reason === 'concurrency'
          ? "the instance's concurrent calls are all in use"
          : 'too many consumers raced for the same permit';
    super(`${what}: retry in ${retryAfterMs} ms`, {
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
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
      retryAfterSeconds: Math.max(1, Math.ceil((resetsAt - now) / 1000)),
    });
    this.resetsAt = resetsAt;
  }
}
