/**
 * Local mode's refusals, answered exactly as the deployed API answers them: the construct's gateway
 * responses and these answers both come from the contract's gateway-error table, so a consumer that
 * handled a local 403 meets the same status, body shape and code in AWS.
 */
import { GATEWAY_ERRORS, type GatewayErrorKind, gatewayErrorBody } from '../functions/contract/index.js';

/** One refusal: its kind in the table and, where API Gateway says more, the specific message. */
export interface Refusal {
  readonly kind: GatewayErrorKind;
  /** API Gateway's own message (`$context.error.messageString`); the table's message otherwise. */
  readonly message?: string;
  /** A more precise `x-amzn-ErrorType` than the kind's (API Gateway sends e.g. UnrecognizedClientException). */
  readonly errorType?: string;
  /**
   * For the DEFAULT_4XX/5XX fallbacks only, which keep the original status in AWS too (a failed Lambda
   * integration is a 502 there); ignored for kinds the table gives a status.
   */
  readonly status?: number;
}

/** Status, headers and body of a refusal. */
export interface RefusalAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The answer to `refusal`, as the stack's gateway response for that kind renders it. */
export function refusalAnswer(refusal: Refusal): RefusalAnswer {
  const entry = GATEWAY_ERRORS[refusal.kind];
  return {
    status: !entry.setStatus && refusal.status !== undefined ? refusal.status : entry.httpStatus,
    headers: {
      'content-type': 'application/json',
      // The construct's gateway responses set it; a refusal is never worth caching.
      'cache-control': 'no-store',
      'x-amzn-ErrorType': refusal.errorType ?? entry.errorType,
    },
    body: gatewayErrorBody(refusal.kind, refusal.message),
  };
}
