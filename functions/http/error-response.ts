import type { APIGatewayProxyResult } from 'aws-lambda';
import { type ErrorCode, isTokenVendorError } from '../core/errors.js';

/** The one place where error codes become HTTP statuses. */
export const HTTP_STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  InvalidRequest: 400,
  AccessDenied: 403,
  UnknownClient: 404,
  NotFound: 404,
  CredentialsMisconfigured: 502,
  CredentialsRejected: 502,
  IdentityBadResponse: 502,
  CredentialsUnavailable: 503,
  IdentityUnavailable: 503,
  TokenRotating: 503,
  StoreUnavailable: 503,
  InternalError: 500,
};

/** Headers on every response: tokens must never be cached by anything in between. */
export const NO_STORE_HEADERS = {
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
} as const;

/** `{error:{code,message}}` with the right status (and Retry-After); unknown errors become a bland 500. */
export function errorResponse(error: unknown): APIGatewayProxyResult {
  const known = isTokenVendorError(error) && error.code in HTTP_STATUS_BY_CODE;
  const code = (known ? error.code : 'InternalError') as ErrorCode;
  const message = known ? error.message : 'internal error';
  const retryAfter = known ? error.retryAfterSeconds : undefined;
  return {
    statusCode: HTTP_STATUS_BY_CODE[code],
    headers: {
      ...NO_STORE_HEADERS,
      ...(retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) }),
    },
    body: JSON.stringify({ error: { code, message } }),
  };
}
