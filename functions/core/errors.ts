import type { ErrorCode } from '../contract/index.js';

/** `Retry-After` for a wait of `waitMs`: whole seconds, rounded up, at least 1 (0 would invite a spin). */
export const retryAfterSecondsFor = (waitMs: number): number => Math.max(1, Math.ceil(waitMs / 1000));

/**
 * One error hierarchy for the whole runtime. Every error has a stable `code` (also its `name`, so
 * Step Functions `Catch` can match it) and a message that never contains a secret or a full token.
 * Codes and their HTTP statuses are one table in the contract (`functions/contract/errors.ts`).
 */
export abstract class TokenVendorError extends Error {
  abstract readonly code: ErrorCode;
  /** Seconds after which a retry may succeed; sent as `Retry-After` where set. */
  readonly retryAfterSeconds?: number;

  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  override get name(): string {
    return this.code;
  }
}

/** The request itself is malformed (bad client id, bad minValidity, bad body). */
export class InvalidRequestError extends TokenVendorError {
  readonly code = 'InvalidRequest' as const;
}

/** No credentials are registered for this client id (or instance). */
export class UnknownClientError extends TokenVendorError {
  readonly code = 'UnknownClient' as const;
}

/** The registered credentials record is unusable: bad JSON, missing field, identityUrl not allowed. */
export class CredentialsMisconfiguredError extends TokenVendorError {
  readonly code = 'CredentialsMisconfigured' as const;
}

/** The credentials source (Secrets Manager, local file) could not be read right now. */
export class CredentialsUnavailableError extends TokenVendorError {
  readonly code = 'CredentialsUnavailable' as const;
}

/** Marketo Identity rejected the client id / secret, also after re-reading the secret. */
export class CredentialsRejectedError extends TokenVendorError {
  readonly code = 'CredentialsRejected' as const;
}

/** Marketo Identity did not answer usefully (timeout, network, 5xx, rate limit) within the budget. */
export class IdentityUnavailableError extends TokenVendorError {
  readonly code = 'IdentityUnavailable' as const;
}

/** Marketo Identity answered something that is not a usable token (garbage, no access_token). */
export class IdentityBadResponseError extends TokenVendorError {
  readonly code = 'IdentityBadResponse' as const;
}

/**
 * The current token has less life than the caller asked for, and its successor cannot be had
 * within the caller's wait budget (Marketo only issues a new token after the old one expires).
 */
export class TokenRotatingError extends TokenVendorError {
  readonly code = 'TokenRotating' as const;
}

/** The token store could not be reached and no usable token is held in memory. */
export class StoreUnavailableError extends TokenVendorError {
  readonly code = 'StoreUnavailable' as const;
}

/**
 * The store refused a request for throughput: one item's partition serves 3,000 reads and 1,000 writes a
 * second. The store is there and someone may hold the lease, so a waiter backs off; it never refreshes
 * without the lease (that would turn a hot key into an Identity stampede). Same code to callers.
 */
export class StoreThrottledError extends StoreUnavailableError {}

/** No such route or method (API Gateway normally answers these itself). */
export class RouteNotFoundError extends TokenVendorError {
  readonly code = 'NotFound' as const;
}

export const isTokenVendorError = (error: unknown): error is TokenVendorError =>
  error instanceof TokenVendorError;
