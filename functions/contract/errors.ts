/**
 * Every stable error code the vendor answers with, and its HTTP status: one table from which the
 * `ErrorCode` type, `ERROR_CODES` and the status map are derived. `retryable`: the same request may succeed
 * later (the answer carries `Retry-After` where the core knows when).
 */
export interface ErrorSpec {
  readonly httpStatus: number;
  readonly retryable: boolean;
}

export const ERROR_TABLE = {
  InvalidRequest: { httpStatus: 400, retryable: false },
  AccessDenied: { httpStatus: 403, retryable: false },
  UnknownClient: { httpStatus: 404, retryable: false },
  NotFound: { httpStatus: 404, retryable: false },
  CredentialsMisconfigured: { httpStatus: 502, retryable: false },
  CredentialsRejected: { httpStatus: 502, retryable: false },
  IdentityBadResponse: { httpStatus: 502, retryable: false },
  CredentialsUnavailable: { httpStatus: 503, retryable: true },
  IdentityUnavailable: { httpStatus: 503, retryable: true },
  TokenRotating: { httpStatus: 503, retryable: true },
  StoreUnavailable: { httpStatus: 503, retryable: true },
  // The Marketo API budget (functions/core/budget): no permit right now (rate window or concurrency in use),
  // and the instance's daily quota used up until 00:00 America/Chicago (not worth retrying before then).
  PermitUnavailable: { httpStatus: 429, retryable: true },
  DailyQuotaExhausted: { httpStatus: 429, retryable: false },
  // Bulk API slots (functions/core/bulk): every place of Marketo's extract (or import) queue is held, or the
  // jobs in flight may use up the day's export quota; the day's export quota used up until 00:00 Chicago;
  // a renewal or end report for a slot the caller does not hold.
  BulkSlotUnavailable: { httpStatus: 429, retryable: true },
  DailyExportQuotaExhausted: { httpStatus: 429, retryable: false },
  BulkSlotNotHeld: { httpStatus: 409, retryable: false },
  InternalError: { httpStatus: 500, retryable: false },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export const ERROR_CODES = Object.keys(ERROR_TABLE) as readonly ErrorCode[];

export const HTTP_STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = Object.fromEntries(
  Object.entries(ERROR_TABLE).map(([code, spec]) => [code, spec.httpStatus]),
) as Record<ErrorCode, number>;

export const isErrorCode = (value: unknown): value is ErrorCode =>
  typeof value === 'string' && Object.hasOwn(ERROR_TABLE, value);
