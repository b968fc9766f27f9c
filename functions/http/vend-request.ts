/**
 * The token requests (get a token, report a rejected one; of a client or a pool's instance), parsed from
 * an API route's event or a direct invoke's payload, and served: one call of the engine, one audit line,
 * the token as callers receive it.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { MAX_REQUEST_BODY_BYTES } from '../contract/index.js';
import type { UsageRecorder } from '../core/budget/index.js';
import { InvalidRequestError } from '../core/errors.js';
import { fingerprint } from '../core/fingerprint.js';
import { assertValidClientId, assertValidInstance } from '../core/ids.js';
import { assertRejectedToken } from '../core/rejected-token.js';
import type { TokenVendor, VendedToken, VendOptions } from '../core/token-vendor-api.js';
import type { Telemetry } from '../telemetry.js';
import { parseJsonObjectBody } from './json-body.js';

/** What a caller asked for, whichever way it arrived. */
export type VendRequest =
  | { readonly kind: 'token'; readonly clientId: string; readonly options: VendOptions }
  | {
      readonly kind: 'invalidate';
      readonly clientId: string;
      readonly accessToken: string;
      readonly options: VendOptions;
    }
  | { readonly kind: 'instance-token'; readonly instance: string; readonly options: VendOptions }
  | {
      readonly kind: 'instance-invalidate';
      readonly instance: string;
      readonly accessToken: string;
      readonly options: VendOptions;
    };

const WHOLE_NUMBER = /^\d{1,7}$/;

const wholeNumber = (raw: unknown, name: string): number | undefined => {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) return raw;
  if (typeof raw === 'string' && WHOLE_NUMBER.test(raw)) return Number(raw);
  throw new InvalidRequestError(`${name} must be a whole number of seconds`);
};

const vendOptions = (minValidity: unknown, maxWaitSeconds: unknown, maxWaitMs: number): VendOptions => {
  const minValiditySeconds = wholeNumber(minValidity, 'minValidity');
  const waitSeconds = wholeNumber(maxWaitSeconds, 'maxWaitSeconds');
  if (waitSeconds !== undefined && waitSeconds * 1000 > maxWaitMs) {
    throw new InvalidRequestError(`maxWaitSeconds must be at most ${Math.floor(maxWaitMs / 1000)}`);
  }
  return {
    ...(minValiditySeconds === undefined ? {} : { minValiditySeconds }),
    maxWaitMs: waitSeconds === undefined ? maxWaitMs : waitSeconds * 1000,
  };
};

const parseJsonBody = (event: APIGatewayProxyEvent): Record<string, unknown> => {
  const body = parseJsonObjectBody(event, MAX_REQUEST_BODY_BYTES);
  if (body === undefined) {
    throw new InvalidRequestError(
      'request body must be JSON {"accessToken": "<the token Marketo rejected>"}',
    );
  }
  return body;
};

const rejectedToken = (value: unknown): string => {
  assertRejectedToken(value);
  return value;
};

/** The vend options of an API request: `minValidity` and `maxWaitSeconds` from its query string. */
export const apiVendOptions = (event: APIGatewayProxyEvent, maxWaitMs: number): VendOptions => {
  const query = event.queryStringParameters ?? {};
  return vendOptions(query.minValidity, query.maxWaitSeconds, maxWaitMs);
};

/** The token an invalidate request reports (`{"accessToken": "…"}` in its JSON body). */
export const rejectedTokenIn = (event: APIGatewayProxyEvent): string =>
  rejectedToken(parseJsonBody(event).accessToken);

/** Parses a direct invoke payload `{clientId | instance, minValidity?, maxWaitSeconds?, action?, accessToken?}`. */
export function parseDirectRequest(event: unknown, maxWaitMs: number): VendRequest {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InvalidRequestError('payload must be a JSON object like {"clientId": "…", "minValidity": 60}');
  }
  const payload = event as Record<string, unknown>;
  const options = vendOptions(payload.minValidity, payload.maxWaitSeconds, maxWaitMs);
  const action = payload.action ?? 'getToken';
  if (action !== 'getToken' && action !== 'invalidate') {
    throw new InvalidRequestError('action must be "getToken" or "invalidate"');
  }
  if (payload.instance !== undefined && payload.clientId === undefined) {
    assertValidInstance(payload.instance);
    return action === 'invalidate'
      ? {
          kind: 'instance-invalidate',
          instance: payload.instance,
          accessToken: rejectedToken(payload.accessToken),
          options,
        }
      : { kind: 'instance-token', instance: payload.instance, options };
  }
  assertValidClientId(payload.clientId);
  if (action === 'invalidate') {
    return {
      kind: 'invalidate',
      clientId: payload.clientId,
      accessToken: rejectedToken(payload.accessToken),
      options,
    };
  }
  return { kind: 'token', clientId: payload.clientId, options };
}

/** The token as the API and direct invokes return it. */
export interface TokenResponse {
  readonly clientId: string;
  readonly accessToken: string;
  readonly tokenType: string;
  /** ISO 8601, UTC. */
  readonly expiresAt: string;
  /** Whole seconds left. */
  readonly expiresIn: number;
  readonly scope?: string;
}

const toResponse = (token: VendedToken): TokenResponse => ({
  clientId: token.clientId,
  accessToken: token.accessToken,
  tokenType: token.tokenType,
  expiresAt: new Date(token.expiresAt).toISOString(),
  expiresIn: token.expiresInSeconds,
  ...(token.scope === undefined ? {} : { scope: token.scope }),
});

const execute = (vendor: TokenVendor, request: VendRequest): Promise<VendedToken> => {
  const { options } = request;
  switch (request.kind) {
    case 'token':
      return vendor.getToken(request.clientId, options);
    case 'invalidate':
      return vendor.invalidate(request.clientId, request.accessToken, options);
    case 'instance-token':
      return vendor.getInstanceToken(request.instance, options);
    case 'instance-invalidate':
      return vendor.invalidateInstance(request.instance, request.accessToken, options);
  }
};

/** What serving a token request needs. */
export interface VendDeps {
  readonly vendor: TokenVendor;
  readonly telemetry: Telemetry;
  /** Books each vend to its caller (usage per consumer). @default none */
  readonly usage?: UsageRecorder;
}

/**
 * Calls the engine once and writes one audit line (caller, client, token fingerprint, where the token came
 * from). Failures are thrown as typed errors, for the one error mapping (`vendErrorMapping`).
 */
export async function serveVend(
  deps: VendDeps,
  request: VendRequest,
  caller: string,
): Promise<TokenResponse> {
  const token = await execute(deps.vendor, request);
  // Usage per consumer: the vend is booked to the caller, through the client (or pool) it asked for.
  deps.usage?.recordVend(
    'instance' in request ? { instance: request.instance } : { clientId: request.clientId },
    token.clientId,
    caller,
  );
  await deps.usage?.flushIfDue();
  deps.telemetry.logger.info('vend', {
    action: request.kind,
    ...('instance' in request ? { instance: request.instance } : {}),
    clientId: token.clientId,
    caller,
    token: fingerprint(token.accessToken),
    source: token.source,
    expiresIn: token.expiresInSeconds,
  });
  return toResponse(token);
}
