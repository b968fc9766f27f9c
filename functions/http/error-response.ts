import type { APIGatewayProxyResult } from 'aws-lambda';
import { HTTP_STATUS_BY_CODE } from '../contract/index.js';
import { publicError } from './public-error.js';

/** Headers on every response: tokens must never be cached by anything in between. */
export const NO_STORE_HEADERS = {
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
} as const;

/**
 * `{error:{code,message}}` (plus the error's details, e.g. a permit's `retryAfterMs` and `reason`) with the
 * status of the code (and Retry-After); unknown errors become a bland 500. The message is the caller's view
 * ({@link publicError}): no path, ARN or internal host.
 */
export function errorResponse(error: unknown): APIGatewayProxyResult {
  const { code, message, retryAfterSeconds, details } = publicError(error);
  return {
    statusCode: HTTP_STATUS_BY_CODE[code],
    headers: {
      ...NO_STORE_HEADERS,
      ...(retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) }),
    },
    body: JSON.stringify({ error: { code, message, ...details } }),
  };
}
