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
  'BulkSlotUnavailable',
  'DailyExportQuotaExhausted',
  'BulkSlotNotHeld',
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
  /** The exact wait the vendor named (`PermitUnavailable`, `BulkSlotUnavailable`: `Retry-After` is coarse). */
  readonly retryAfterMs?: number;
  /** `DailyExportQuotaExhausted`: when the quota comes back (epoch ms; 00:00 America/Chicago). */
  readonly resetsAt?: number;

  constructor(
    code: TokenVendorClientErrorCode,
    message: string,
    options: {
      readonly status: number;
      readonly retryAfterSeconds?: number;
      readonly retryAfterMs?: number;
      readonly resetsAt?: number;
      readonly cause?: unknown;
    },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.resetsAt !== undefined) this.resetsAt = options.resetsAt;
  }

  override get name(): string {
    return 'TokenVendorClientError';
  }

  /** Whether trying again later may succeed. */
  get retryable(): boolean {
    // A used-up daily quota only comes back at 00:00 America/Chicago: fail fast, do not retry.
    if (this.code === 'DailyQuotaExhausted' || this.code === 'DailyExportQuotaExhausted') return false;
    return this.status === 429 || this.status === 503 || this.code === 'NetworkError';
  }
}

/**
 * Whether the vendor answered that a route does not exist for this caller (an older deployment without it, or
 * no grant on it): the budget's permits and Bulk slots then go on unmetered, Marketo still enforcing its limits.
 */
export const isRouteUnavailable = (error: TokenVendorClientError): boolean =>
  error.code === 'AccessDenied' || error.code === 'MissingAuthenticationToken' || error.code === 'NotFound';

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

/** API Gateway's `x-amzn-ErrorType` values (the part before `:`) and the client codes they stand for. */
const ERROR_TYPE_TO_CODE: Readonly<Record<string, TokenVendorClientErrorCode>> = {
  MissingAuthenticationTokenException: 'MissingAuthenticationToken',
  IncompleteSignatureException: 'IncompleteSignature',
  InvalidSignatureException: 'InvalidSignature',
  UnrecognizedClientException: 'UnrecognizedClient',
  AccessDeniedException: 'AccessDenied',
  TooManyRequestsException: 'Throttled',
};

/**
 * API Gateway's message for an access key it does not know. AWS services send it as
 * `UnrecognizedClientException`; AWS's API Gateway 403 guide lists it under `AccessDeniedException`: the
 * message decides.
 */
const UNKNOWN_KEY_MESSAGE = 'The security token included in the request is invalid.';

const isApiCode = (value: unknown): value is (typeof API_ERROR_CODES)[number] =>
  typeof value === 'string' && (API_ERROR_CODES as readonly string[]).includes(value);

/** The code of a refusal API Gateway made itself, from its `x-amzn-ErrorType` or, without one, its message. */
function gatewayCode(
  status: number,
  errorType: string,
  message: string,
): TokenVendorClientErrorCode | undefined {
  const mapped = ERROR_TYPE_TO_CODE[errorType];
  if (status === 403 && message === UNKNOWN_KEY_MESSAGE && (mapped ?? 'AccessDenied') === 'AccessDenied') {
    return 'UnrecognizedClient';
  }
  if (mapped) return mapped;
  if (status === 403 && message === 'Missing Authentication Token') return 'MissingAuthenticationToken';
  if (status === 403 && message.startsWith('Signature expired')) return 'InvalidSignature';
  return undefined;
}

/**
 * Turns a non-2xx answer into a typed error, whichever layer produced it. A refusal of API Gateway's (or of
 * local mode, which answers the same) names its kind in `x-amzn-ErrorType`; that beats the body's code, which
 * the stack's gateway responses set to `AccessDenied` for every 403 (functions/contract/gateway-errors.ts).
 */
export function errorFromResponse(
  status: number,
  headers: Headers,
  body: unknown,
  retryAfterSeconds: number | undefined,
): TokenVendorClientError {
  const extra = { status, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
  const apiError = (
    body as {
      error?: { code?: unknown; message?: unknown; retryAfterMs?: unknown; resetsAt?: unknown };
    } | null
  )?.error;
  // The stack's gateway responses and the handler say `{error:{message}}`; API Gateway's defaults `{message}`.
  const message = String(
    apiError?.message ?? (body as { message?: unknown } | null)?.message ?? `HTTP ${status}`,
  );
  const errorType = (headers.get('x-amzn-errortype') ?? '').split(':')[0] ?? '';
  const fromGateway = gatewayCode(status, errorType, message);
  if (fromGateway) return new TokenVendorClientError(fromGateway, message, extra);
  if (apiError && isApiCode(apiError.code)) {
    const exactWait =
      typeof apiError.retryAfterMs === 'number' ? { retryAfterMs: apiError.retryAfterMs } : {};
    const resetsAt = typeof apiError.resetsAt === 'string' ? Date.parse(apiError.resetsAt) : Number.NaN;
    return new TokenVendorClientError(apiError.code, message, {
      ...extra,
      ...exactWait,
      ...(Number.isFinite(resetsAt) ? { resetsAt } : {}),
    });
  }
  if (status === 429) return new TokenVendorClientError('Throttled', message, extra);
  if (status === 403 && message.includes('not authorized')) {
    return new TokenVendorClientError('AccessDenied', message, extra);
  }
  return new TokenVendorClientError(status >= 500 ? 'InternalError' : 'BadResponse', message, extra);
}
