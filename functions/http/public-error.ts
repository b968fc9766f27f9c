import { type ErrorCode, isErrorCode } from '../contract/index.js';
import { PermitUnavailableError } from '../core/budget/index.js';
import { BulkSlotUnavailableError, DailyExportQuotaExhaustedError } from '../core/bulk/errors.js';
import { isTokenVendorError, type TokenVendorError } from '../core/errors.js';

/** What a caller is told about a failure: a stable code, a message fit for the caller, and when to retry. */
export interface PublicError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retryAfterSeconds?: number;
  /**
   * What the API body adds after code and message: a permit's or slot's exact wait (`retryAfterMs`) and its
   * `reason`; when the daily export quota resets (`resetsAt`, ISO 8601).
   */
  readonly details?: Readonly<Record<string, string | number>>;
}

/** Fields an error carries for the caller beyond its message (whole-second Retry-After is coarse for a 20 s window). */
const detailsOf = (error: TokenVendorError): PublicError['details'] => {
  if (error instanceof PermitUnavailableError || error instanceof BulkSlotUnavailableError) {
    return { retryAfterMs: error.retryAfterMs, reason: error.reason };
  }
  if (error instanceof DailyExportQuotaExhaustedError)
    return { resetsAt: new Date(error.resetsAt).toISOString() };
  return undefined;
};

/**
 * Where the vendor's internals show in error messages written for operators: file paths (local credentials
 * file), ARNs (Secrets Manager, IAM), URLs, IP addresses and host names (Identity, endpoints). They stay in
 * the logs; a caller sees a placeholder. Secret names (`<prefix><clientId>`) are relative and stay readable.
 */
const INTERNALS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\barn:aws[a-z-]*:[^\s"'(),]+/gi, '[arn]'],
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'(),]+/gi, '[url]'],
  [/(^|[\s("'=])(?:~|\.{1,2})?\/[^\s"'(),]*/g, '$1[path]'],
  [/(^|[\s("'=])[a-z]:\\[^\s"'(),]*/gi, '$1[path]'],
  [/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g, '[address]'],
  [/\[[0-9a-f.]*:[0-9a-f:.]*\](?::\d+)?|\b(?:[0-9a-f]{1,4}:){4,7}[0-9a-f]{1,4}\b/gi, '[address]'],
  [/(allowlist\s*\()[^)]*\)/gi, '$1[hosts])'],
  // After a word that announces a host (`host "x"`, TLS's `Host: x.`, `DNS:x`, undici's `attempted address:
  // x:443`), only what looks like one: quoted, or a dotted name or `localhost` with an optional port. The
  // English word after "host" in "Identity host could not be resolved" is not a host name and stays.
  [/\b(host(?:name)?:?\s+|DNS:|attempted address:\s*)"[^"]*"/gi, '$1"[host]"'],
  [
    /\b(host(?:name)?:?\s+|DNS:|attempted address:\s*)(?:(?:[a-z0-9-]+\.)+[a-z0-9-]+|localhost)(?::\d+)?/gi,
    '$1[host]',
  ],
  [
    /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\s+(?!\[)[^\s"'(),]+/g,
    '$1 [host]',
  ],
];

/** Removes file paths, ARNs, URLs, addresses and host names from a message meant for a caller. */
export function redactInternals(message: string): string {
  return INTERNALS.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), message);
}

/** Codes whose messages the handler writes from the caller's own input: nothing internal to hide. */
const CALLER_INPUT_CODES: ReadonlySet<ErrorCode> = new Set(['InvalidRequest', 'NotFound']);

/**
 * The caller's view of any thrown value: typed errors keep code, Retry-After and their details; anything
 * else is internal.
 */
export function publicError(error: unknown): PublicError {
  if (isTokenVendorError(error) && isErrorCode(error.code)) {
    const details = detailsOf(error);
    return {
      code: error.code,
      message: CALLER_INPUT_CODES.has(error.code) ? error.message : redactInternals(error.message),
      ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
      ...(details === undefined ? {} : { details }),
    };
  }
  return { code: 'InternalError', message: 'internal error' };
}

/**
 * The error a direct invoke rethrows: named by its code, because Step Functions `Catch` matches on the error
 * name, and carrying only the caller's view of the message.
 */
export class DirectInvokeError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterSeconds?: number;

  constructor(error: PublicError) {
    super(error.message);
    this.code = error.code;
    if (error.retryAfterSeconds !== undefined) this.retryAfterSeconds = error.retryAfterSeconds;
  }

  override get name(): string {
    return this.code;
  }
}
