import type { ErrorCode } from './errors.js';

/**
 * Refusals API Gateway makes itself, before the handler runs, answered in the handler's
 * `{error:{code,message}}` shape. The construct's gateway responses and local mode's refusals both come from
 * this table. Default statuses: https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
 */

/** Codes only the gateway answers with (the handler never throttles). */
export type GatewayOnlyCode = 'Throttled';
export type GatewayErrorCode = ErrorCode | GatewayOnlyCode;

/** API Gateway's `ResponseType` names (as in CDK's `apigateway.ResponseType.*`). */
export type GatewayErrorKind =
  | 'MISSING_AUTHENTICATION_TOKEN'
  | 'ACCESS_DENIED'
  | 'INVALID_SIGNATURE'
  | 'EXPIRED_TOKEN'
  | 'BAD_REQUEST_PARAMETERS'
  | 'BAD_REQUEST_BODY'
  | 'REQUEST_TOO_LARGE'
  | 'THROTTLED'
  | 'DEFAULT_4XX'
  | 'DEFAULT_5XX';

export interface GatewayError {
  readonly kind: GatewayErrorKind;
  /** API Gateway's default status for this kind; local mode answers with it. */
  readonly httpStatus: number;
  /**
   * false for the DEFAULT_4XX/5XX fallbacks: the construct must not set a statusCode there, because
   * that would rewrite every status of the class (a 502 crash or a 504 timeout would all become 500).
   */
  readonly setStatus: boolean;
  readonly code: GatewayErrorCode;
  /** What local mode says (API Gateway fills `$context.error.messageString` itself). */
  readonly message: string;
  /** API Gateway's `x-amzn-ErrorType`, which clients (client/errors.ts) map to codes. */
  readonly errorType: string;
}

export const GATEWAY_ERRORS: Readonly<Record<GatewayErrorKind, GatewayError>> = {
  MISSING_AUTHENTICATION_TOKEN: {
    kind: 'MISSING_AUTHENTICATION_TOKEN',
    httpStatus: 403,
    setStatus: true,
    code: 'AccessDenied',
    // Also API Gateway's answer to an unknown route under AWS_IAM.
    message: 'Missing Authentication Token',
    errorType: 'MissingAuthenticationTokenException',
  },
  ACCESS_DENIED: {
    kind: 'ACCESS_DENIED',
    httpStatus: 403,
    setStatus: true,
    code: 'AccessDenied',
    message: 'User is not authorized to access this resource',
    errorType: 'AccessDeniedException',
  },
  INVALID_SIGNATURE: {
    kind: 'INVALID_SIGNATURE',
    httpStatus: 403,
    setStatus: true,
    code: 'AccessDenied',
    message: 'The request signature we calculated does not match the signature you provided.',
    errorType: 'InvalidSignatureException',
  },
  EXPIRED_TOKEN: {
    kind: 'EXPIRED_TOKEN',
    httpStatus: 403,
    setStatus: true,
    code: 'AccessDenied',
    message: 'Signature expired',
    errorType: 'InvalidSignatureException',
  },
  BAD_REQUEST_PARAMETERS: {
    kind: 'BAD_REQUEST_PARAMETERS',
    httpStatus: 400,
    setStatus: true,
    code: 'InvalidRequest',
    message: 'Invalid request parameters',
    errorType: 'BadRequestException',
  },
  BAD_REQUEST_BODY: {
    kind: 'BAD_REQUEST_BODY',
    httpStatus: 400,
    setStatus: true,
    code: 'InvalidRequest',
    message: 'Invalid request body',
    errorType: 'BadRequestException',
  },
  REQUEST_TOO_LARGE: {
    kind: 'REQUEST_TOO_LARGE',
    httpStatus: 413,
    setStatus: true,
    code: 'InvalidRequest',
    message: 'Request Too Long',
    errorType: 'RequestTooLargeException',
  },
  THROTTLED: {
    kind: 'THROTTLED',
    httpStatus: 429,
    setStatus: true,
    code: 'Throttled',
    message: 'Too Many Requests',
    errorType: 'TooManyRequestsException',
  },
  DEFAULT_4XX: {
    kind: 'DEFAULT_4XX',
    httpStatus: 400,
    setStatus: false,
    code: 'InvalidRequest',
    message: 'Bad Request',
    errorType: 'BadRequestException',
  },
  DEFAULT_5XX: {
    kind: 'DEFAULT_5XX',
    httpStatus: 500,
    setStatus: false,
    code: 'InternalError',
    message: 'Internal server error',
    errorType: 'InternalServerErrorException',
  },
};

/** The body local mode sends for a refusal: `{error:{code,message}}`. */
export const gatewayErrorBody = (kind: GatewayErrorKind, message?: string): string => {
  const entry = GATEWAY_ERRORS[kind];
  return JSON.stringify({ error: { code: entry.code, message: message ?? entry.message } });
};

/** The construct's mapping template: the same shape, with API Gateway's own message. */
export const gatewayResponseTemplate = (kind: GatewayErrorKind): string =>
  `{"error":{"code":"${GATEWAY_ERRORS[kind].code}","message":$context.error.messageString}}`;
