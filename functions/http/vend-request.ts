import type { APIGatewayProxyEvent } from 'aws-lambda';
import { MAX_REQUEST_BODY_BYTES, routeByResource } from '../contract/index.js';
import { InvalidRequestError, RouteNotFoundError } from '../core/errors.js';
import { assertValidClientId, assertValidInstance } from '../core/ids.js';
import { assertRejectedToken } from '../core/rejected-token.js';
import type { VendOptions } from '../core/token-vendor-api.js';
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

/** Parses an API Gateway REST proxy event; the route comes from `resource` (the template). */
export function parseApiRequest(event: APIGatewayProxyEvent, maxWaitMs: number): VendRequest {
  const query = event.queryStringParameters ?? {};
  const options = (): VendOptions => vendOptions(query.minValidity, query.maxWaitSeconds, maxWaitMs);
  const route = routeByResource(event.httpMethod, event.resource);
  if (!route) {
    throw new RouteNotFoundError(
      `no route for ${String(event.httpMethod)} ${String(event.path)}`.slice(0, 300),
    );
  }
  const name = event.pathParameters?.[route.pathParameter];
  const accessToken = (): string => rejectedToken(parseJsonBody(event).accessToken);
  switch (route.kind) {
    case 'token':
      assertValidClientId(name);
      return { kind: 'token', clientId: name, options: options() };
    case 'invalidate':
      assertValidClientId(name);
      return { kind: 'invalidate', clientId: name, accessToken: accessToken(), options: options() };
    case 'instance-token':
      assertValidInstance(name);
      return { kind: 'instance-token', instance: name, options: options() };
    case 'instance-invalidate':
      assertValidInstance(name);
      return { kind: 'instance-invalidate', instance: name, accessToken: accessToken(), options: options() };
    case 'permit':
    case 'permit-release':
    case 'instance-permit':
    case 'instance-permit-release':
      // Served by the budget's permit service (functions/http/permit-request.ts) before parsing gets here.
      throw new RouteNotFoundError(`no permit service for ${String(event.path)}`.slice(0, 300));
  }
}

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
