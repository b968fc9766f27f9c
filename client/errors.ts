/**
 * Errors of the consumer library. Codes mirror the token API's `{error:{code}}` values, plus the codes of
 * answers API Gateway gives itself (signature, authorization, throttling) and of transport failures.
 * The library is standalone: it does not import the vendor's runtime code.
 */

/** Codes the vendor's API returns in `{error:{code,message}}`. */
export const API_ERROR_CODES = [
  'InvalidRequest',
  'UnknownClient',
  'CredentialsMisconfigured',
  'CredentialsUnavailable',
  'CredentialsRejected',
  'IdentityUnavailable',
  'IdentityBadResponse',
  'TokenRotating',
  'StoreUnavailable',
  'AccessDenied',
  'NotFound',
  'InternalError',
  'PermitUnavailable',
  'DailyQuotaExhausted',
] as const;

/** Codes for answers that come from API Gateway (or the local IAM emulation), or from the network. */
export const GATEWAY_ERROR_CODES = [
  'MissingAuthenticationToken',
  'IncompleteSignature',
  'InvalidSignature',
  'UnrecognizedClient',
  'Throttled',
  'NetworkError',
  'BadResponse',
] as const;

export type TokenVendorClientErrorCode =
  | (typeof API_ERROR_CODES)[number]
  | (typeof GATEWAY_ERROR_CODES)[number];

/** A failed call to the token vendor. `status` is the HTTP status (0 when no answer arrived). */
export class TokenVendorClientError extends Error {
  readonly code: TokenVendorClientErrorCode;
  readonly status: number;
  /** Seconds after which a retry may succeed (from `Retry-After`), when the vendor said so. */
  readonly retryAfterSeconds?: number;
  /** The exact wait the vendor named (`PermitUnavailable`: whole-second `Retry-After` is coarse). */
  readonly retryAfterMs?: number;

  constructor(
    code: TokenVendorClientErrorCode,
    message: string,
    options: {
      readonly status: number;
      readonly retryAfterSeconds?: number;
      readonly retryAfterMs?: number;
      readonly cause?: unknown;
    },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  override get name(): string {
    return 'TokenVendorClientError';
  }

  /** Whether trying again later may succeed. */
  get retryable(): boolean {
    // A used-up daily quota only comes back at 00:00 America/Chicago: fail fast, do not retry.
    if (this.code === 'DailyQuotaExhausted') return false;
    return this.status === 429 || this.status === 503 || this.code === 'NetworkError';
  }
}

/**
 * A Marketo REST answer that carried an error (`success: false`). Throw it from a `withToken` callback
 * (or let `marketoFetch` see the body): 601 and 602 make the library fetch a fresh token and retry once;
 * 603 becomes `MarketoAccessDenied`, naming the permission when `request` names the call.
 */
export class MarketoApiError extends Error {
  /** Marketo's error code, e.g. `'602'`. */
  readonly code: string;
  /** The request Marketo answered (path without query): names the permission a 603 lacks. */
  readonly request?: { readonly method: string; readonly path: string };

  constructor(code: string, message: string, request?: { readonly method: string; readonly path: string }) {
    super(`Marketo error ${code}: ${message}`);
    this.code = code;
    if (request !== undefined) this.request = request;
  }

  override get name(): string {
    return 'MarketoApiError';
  }
}

const ERROR_TYPE_TO_CODE: Readonly<Record<string, TokenVendorClientErrorCode>> = {
  MissingAuthenticationTokenException: 'MissingAuthenticationToken',
  IncompleteSignatureException: 'IncompleteSignature',
  InvalidSignatureException: 'InvalidSignature',
  UnrecognizedClientException: 'UnrecognizedClient',
  AccessDeniedException: 'AccessDenied',
  TooManyRequestsException: 'Throttled',
};

const isApiCode = (value: unknown): value is (typeof API_ERROR_CODES)[number] =>
  typeof value === 'string' && (API_ERROR_CODES as readonly string[]).includes(value);

/** Turns a non-2xx answer into a typed error, whichever layer produced it. */
export function errorFromResponse(
  status: number,
  headers: Headers,
  body: unknown,
  retryAfterSeconds: number | undefined,
): TokenVendorClientError {
  const extra = { status, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
  const apiError = (body as { error?: { code?: unknown; message?: unknown; retryAfterMs?: unknown } } | null)
    ?.error;
  if (apiError && isApiCode(apiError.code)) {
    const exactWait =
      typeof apiError.retryAfterMs === 'number' ? { retryAfterMs: apiError.retryAfterMs } : {};
    return new TokenVendorClientError(apiError.code, String(apiError.message ?? apiError.code), {
      ...extra,
      ...exactWait,
    });
  }
  // API Gateway's own answers: `{"message": …}` with the type in `x-amzn-ErrorType` (`Type:detail`).
  const message = String((body as { message?: unknown } | null)?.message ?? `HTTP ${status}`);
  const errorType = (headers.get('x-amzn-errortype') ?? '').split(':')[0];
  const mapped = ERROR_TYPE_TO_CODE[errorType];
  if (mapped) return new TokenVendorClientError(mapped, message, extra);
  if (status === 429) return new TokenVendorClientError('Throttled', message, extra);
  if (status === 403 && message.includes('not authorized')) {
    return new TokenVendorClientError('AccessDenied', message, extra);
  }
  if (message === 'Missing Authentication Token') {
    return new TokenVendorClientError('MissingAuthenticationToken', message, extra);
  }
  if (status === 403 && message.startsWith('Signature expired')) {
    return new TokenVendorClientError('InvalidSignature', message, extra);
  }
  return new TokenVendorClientError(status >= 500 ? 'InternalError' : 'BadResponse', message, extra);
}
