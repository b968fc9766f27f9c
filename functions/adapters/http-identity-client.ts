/**
 * Marketo Identity over HTTP (global `fetch`). Every way Identity can fail is mapped to one of the
 * typed errors of the core; no error, message or cause ever carries the client secret.
 *
 * Identity's free text (`error_description`, `errors[].message`, odd `error` or `errors[].code` values) is
 * never passed on: an Identity that echoes the secret, in any case, truncated or reversed, would otherwise
 * put it in API answers, logs and the store. Messages name only allowlisted codes and our own phrases.
 */
import { nextQuotaReset } from '../contract/index.js';
import {
  CredentialsRejectedError,
  IdentityBadResponseError,
  IdentityUnavailableError,
  retryAfterSecondsFor,
  type TokenVendorError,
} from '../core/errors.js';
import type { ClientCredentials, IdentityClient, IdentityToken } from '../core/ports.js';

/** Options of {@link HttpIdentityClient}. */
export interface HttpIdentityClientOptions {
  /** @default globalThis.fetch (resolved per call, so tests may stub it) */
  readonly fetch?: typeof fetch;
  /** Epoch ms, used to turn an HTTP-date `Retry-After` into seconds. @default Date.now */
  readonly now?: () => number;
}

/** Marketo error codes in a 200 answer that mean "try again later" (rate, quota, concurrency, transient). */
const RETRYABLE_MARKETO_CODES = new Set(['604', '606', '607', '608', '611', '615', '713']);
/** `error` values with which Identity refuses a client id / secret pair. */
const REJECTION_ERRORS = new Set(['unauthorized', 'invalid_client', 'unauthorized_client']);
/** OAuth 2.0 `error` codes (RFC 6749 §5.2, plus Marketo's `unauthorized`): the only ones ever repeated. */
const OAUTH_ERRORS = new Set([
  ...REJECTION_ERRORS,
  'invalid_request',
  'invalid_grant',
  'unsupported_grant_type',
  'invalid_scope',
  'access_denied',
  'server_error',
  'temporarily_unavailable',
]);
/** Descriptions Identity gives for refused credentials, recognised and told in our own words. */
const REJECTION_DESCRIPTIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/bad client credentials/i, 'Bad client credentials'],
  [/no client with requested id/i, 'No client with requested id'],
];
/** Marketo's error codes, told in our words (https://developers.marketo.com/rest-api/error-codes/). */
const MARKETO_ERRORS: Readonly<Record<string, string>> = {
  '601': 'access token invalid',
  '602': 'access token expired',
  '603': 'access denied',
  '604': 'request timed out',
  '606': 'rate limit exceeded',
  '607': 'daily quota reached',
  '608': 'API temporarily unavailable',
  '611': 'system error',
  '615': 'concurrent access limit reached',
  '713': 'transient error',
};
/** Marketo error codes are three digits; anything else Identity puts there is not repeated. */
const MARKETO_CODE = /^\d{3}$/;
/** System error codes (ECONNRESET, UND_ERR_SOCKET) along a network error's cause chain. */
const SYSTEM_ERROR_CODE = /^[A-Z][A-Z0-9_]{1,39}$/;
/** Marketo's scope is the API-only user's email address. */
const SCOPE_PATTERN = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}$/;
/** Shortest part of a secret that counts as an echo of it (matches the leak tests' window). */
const SECRET_WINDOW_CHARS = 8;
const MAX_CAUSE_DEPTH = 5;

/** Sends `POST <identityUrl>/oauth/token` with a form body, so the secret never appears in a URL. */
export class HttpIdentityClient implements IdentityClient {
  readonly #fetch?: typeof fetch;
  readonly #now: () => number;

  constructor(options: HttpIdentityClientOptions = {}) {
    this.#fetch = options.fetch;
    this.#now = options.now ?? Date.now;
  }

  async fetchToken(
    credentials: ClientCredentials,
    options: { readonly timeoutMs: number; readonly signal?: AbortSignal },
  ): Promise<IdentityToken> {
    const scrub = scrubberFor(credentials.clientSecret);
    const echoesSecret = echoDetectorFor(credentials.clientSecret);
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const failure = (error: unknown, phase: 'request' | 'body'): TokenVendorError => {
      const cause = sanitizeError(error, scrub);
      if (timeout.aborted) {
        return new IdentityUnavailableError(`Identity timed out after ${options.timeoutMs} ms`, { cause });
      }
      if (options.signal?.aborted) {
        return new IdentityUnavailableError('Identity request was aborted by the caller', { cause });
      }
      return new IdentityUnavailableError(describeNetworkError(error, phase), { cause });
    };

    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
    }).toString();
    let response: Response;
    try {
      response = await (this.#fetch ?? fetch)(`${credentials.identityUrl.replace(/\/+$/, '')}/oauth/token`, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        body,
        signal,
        // A 307/308 would replay the form (and its secret) to wherever Location points: never follow.
        redirect: 'manual',
      });
    } catch (error) {
      throw failure(error, 'request');
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw failure(error, 'body');
    }
    return this.#interpret(response.status, response.headers, text, credentials.clientId, echoesSecret);
  }

  #interpret(
    status: number,
    headers: Headers,
    text: string,
    clientId: string,
    echoesSecret: (text: string) => boolean,
  ): IdentityToken {
    const parsed = parseJson(text);
    if (status >= 200 && status < 300) return toToken(status, parsed, echoesSecret, this.#now);

    const body = isRecord(parsed) ? parsed : {};
    const error = typeof body.error === 'string' ? body.error : undefined;
    const description = typeof body.error_description === 'string' ? body.error_description : undefined;
    const knownError = error !== undefined && OAUTH_ERRORS.has(error) ? error : undefined;
    const knownDescription =
      description === undefined
        ? undefined
        : REJECTION_DESCRIPTIONS.find(([re]) => re.test(description))?.[1];
    const detail = [knownError, knownDescription].filter((s) => s !== undefined).join(': ');
    const quoted = detail === '' ? '' : `, ${detail}`;
    if (status >= 300 && status < 400) {
      throw new IdentityBadResponseError(`Identity answered with a redirect (HTTP ${status}); not followed`);
    }
    const rejected =
      status === 401 ||
      ((status === 400 || status === 403) &&
        ((error !== undefined && REJECTION_ERRORS.has(error)) || knownDescription !== undefined));
    if (rejected) {
      throw new CredentialsRejectedError(
        `Identity rejected the credentials of client "${clientId}" (HTTP ${status}${quoted})`,
      );
    }
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfterSeconds = parseRetryAfter(headers.get('retry-after'), this.#now);
      throw new IdentityUnavailableError(`Identity answered HTTP ${status}${quoted}`, { retryAfterSeconds });
    }
    throw new IdentityBadResponseError(`Identity refused the request (HTTP ${status}${quoted})`);
  }
}

function toToken(
  status: number,
  parsed: unknown,
  echoesSecret: (text: string) => boolean,
  now: () => number,
): IdentityToken {
  if (parsed === undefined) {
    throw new IdentityBadResponseError(`Identity answered HTTP ${status} with a body that is not JSON`);
  }
  if (!isRecord(parsed)) {
    throw new IdentityBadResponseError(`Identity answered HTTP ${status} with JSON that is not an object`);
  }
  // Marketo reports rate limits as HTTP 200 with an `errors` array.
  if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
    const first: Record<string, unknown> = isRecord(parsed.errors[0]) ? parsed.errors[0] : {};
    const raw = typeof first.code === 'number' || typeof first.code === 'string' ? String(first.code) : '';
    const code = MARKETO_CODE.test(raw) ? raw : undefined;
    const named = code === undefined ? undefined : MARKETO_ERRORS[code];
    const what =
      code === undefined
        ? 'an unrecognised Marketo error'
        : `Marketo error ${code}${named ? ` (${named})` : ''}`;
    if (code !== undefined && RETRYABLE_MARKETO_CODES.has(code)) {
      throw new IdentityUnavailableError(`Identity answered ${what}`, {
        retryAfterSeconds: marketoRetryAfter(code, now()),
      });
    }
    throw new IdentityBadResponseError(`Identity answered ${what}`);
  }
  const accessToken = parsed.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw new IdentityBadResponseError(`Identity answered HTTP ${status} without an access_token`);
  }
  const expiresIn = parseExpiresIn(parsed.expires_in);
  if (expiresIn === undefined) {
    throw new IdentityBadResponseError(
      `Identity answered HTTP ${status} with a missing or invalid expires_in`,
    );
  }
  // Marketo's tokens are bearer tokens; `token_type` and `scope` are Identity's text handed on to
  // consumers, so only an email-shaped scope that repeats no part of the secret is kept.
  const scope =
    typeof parsed.scope === 'string' && SCOPE_PATTERN.test(parsed.scope) && !echoesSecret(parsed.scope)
      ? parsed.scope
      : undefined;
  return {
    accessToken,
    tokenType: 'bearer',
    ...(scope === undefined ? {} : { scope }),
    expiresInSeconds: expiresIn,
  };
}

/** Whole seconds ≥ 0; a numeric string is accepted (some proxies stringify numbers). */
function parseExpiresIn(value: unknown): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined;
}

/**
 * 606 rate limit: the 20 s window; 615 concurrency: a few seconds; 607 daily quota: the quota's reset (midnight
 * in Chicago, a 23- or 25-hour day away on the days daylight saving time changes).
 */
function marketoRetryAfter(code: string, nowMs: number): number | undefined {
  switch (code) {
    case '606':
      return 20;
    case '615':
    case '604':
    case '608':
    case '611':
    case '713':
      return 5;
    case '607':
      return retryAfterSecondsFor(nextQuotaReset(nowMs) - nowMs);
    default:
      return undefined;
  }
}

/** `Retry-After` as delta-seconds or an HTTP-date; undefined when absent or unreadable. */
function parseRetryAfter(header: string | null, now: () => number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now()) / 1000));
}

function describeNetworkError(error: unknown, phase: 'request' | 'body'): string {
  const found = errorCode(error);
  const code = found !== undefined && SYSTEM_ERROR_CODE.test(found) ? found : undefined;
  const suffix = code ? ` (${code})` : '';
  if (phase === 'body') return `Identity connection failed while reading the response${suffix}`;
  switch (code) {
    case 'ECONNREFUSED':
      return `Identity refused the connection${suffix}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `Identity host could not be resolved${suffix}`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `Identity closed the connection before answering${suffix}`;
    default:
      return `Identity request failed${suffix}`;
  }
}

/** The first `code` found along the cause chain (undici wraps system errors in `TypeError: fetch failed`). */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

/**
 * A copy of `error` and its cause chain holding only name, code, message and stack, scrubbed: the
 * originals may reference the request (and its form body with the secret).
 */
function sanitizeError(error: unknown, scrub: (text: string) => string, depth = 0): Error {
  if (!(error instanceof Error)) return new Error(scrub(String(error)));
  const cause =
    depth < MAX_CAUSE_DEPTH && error.cause !== undefined
      ? sanitizeError(error.cause, scrub, depth + 1)
      : undefined;
  const copy = new Error(scrub(error.message), cause === undefined ? undefined : { cause });
  copy.name = error.name;
  copy.stack = error.stack === undefined ? undefined : scrub(error.stack);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(copy, { code });
  return copy;
}

/** Removes the secret (raw, URL-encoded and form-encoded) from text quoted in messages. */
function scrubberFor(secret: string): (text: string) => string {
  const forms = [
    ...new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)]),
  ].filter((s) => s.length > 0);
  return (text) => forms.reduce((acc, form) => acc.split(form).join('[redacted]'), text);
}

/**
 * Whether `text` repeats part of the secret: any {@link SECRET_WINDOW_CHARS}-character window of it, either
 * way round, in any case (a shorter secret: the whole of it).
 */
function echoDetectorFor(secret: string): (text: string) => boolean {
  const size = Math.min(SECRET_WINDOW_CHARS, secret.length);
  const windows = new Set<string>();
  for (const form of [secret, [...secret].reverse().join('')]) {
    const lower = form.toLowerCase();
    for (let i = 0; size > 0 && i + size <= lower.length; i += 1) windows.add(lower.slice(i, i + size));
  }
  return (text) => {
    const haystack = text.toLowerCase();
    for (const window of windows) if (haystack.includes(window)) return true;
    return false;
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
