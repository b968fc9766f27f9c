/**
 * The API's routes bound to their handlers, and the one dispatcher of API Gateway events (the Lambda's and
 * local mode's: both run `createVendHandler`). The facts of each route (method, resource template, path
 * parameter, grant, body) are a row of the contract's table (functions/contract/routes.ts); here each kind
 * gets the function that answers it. `satisfies Record<RouteKind, RouteHandler>` makes a row without a
 * handler fail the typecheck. Handlers throw typed errors; the one error mapping (`vendErrorMapping` in
 * functions/vend.ts) answers every failure.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { type Route, type RouteKind, routeByResource } from '../contract/index.js';
import { RouteNotFoundError } from '../core/errors.js';
import { assertValidClientId, assertValidInstance } from '../core/ids.js';
import { type BulkSlotAction, type BulkSlotService, parseBulkSlotApiRequest } from './bulk-slot-request.js';
import { NO_STORE_HEADERS } from './error-response.js';
import { type PermitAction, type PermitService, parsePermitApiRequest } from './permit-request.js';
import { apiVendOptions, rejectedTokenIn, serveVend, type VendDeps } from './vend-request.js';

/** What the handlers are given, built once per Lambda (or local server). */
export interface ApiDeps extends VendDeps {
  /** Upper bound for a caller's `maxWaitSeconds`. */
  readonly maxWaitMs: number;
  /** The Marketo API budget's permit routes; without it they answer 404 NotFound. */
  readonly permits?: PermitService;
  /** The Bulk API slot routes; without it they answer 404 NotFound. */
  readonly bulkSlots?: BulkSlotService;
}

/** One request API Gateway matched to a route of the table. */
export interface RouteRequest {
  readonly event: APIGatewayProxyEvent;
  readonly route: Route;
  /** The route's path parameter as API Gateway passed it: not yet validated. */
  readonly name: string | undefined;
  /** Who asked (the IAM caller), for the audit line. */
  readonly caller: string;
}

/** Parses and validates its request, calls the core once, and returns the body of the 200 answer. */
export type RouteHandler = (request: RouteRequest, deps: ApiDeps) => Promise<object>;

const servePermit = async (
  { event, route, name, caller }: RouteRequest,
  { permits }: ApiDeps,
  action: PermitAction,
): Promise<object> => {
  if (!permits) throw new RouteNotFoundError(`no permit service for ${String(event.path)}`.slice(0, 300));
  return permits.serve(parsePermitApiRequest(event, route, name, action), caller);
};

const serveBulkSlot = async (
  { event, route, name, caller }: RouteRequest,
  { bulkSlots }: ApiDeps,
  action: BulkSlotAction,
): Promise<object> => {
  if (!bulkSlots)
    throw new RouteNotFoundError(`no bulk slot service for ${String(event.path)}`.slice(0, 300));
  return bulkSlots.serve(parseBulkSlotApiRequest(event, route, name, action), caller);
};

/** Every route kind of the contract's table, bound to its handler. */
export const ROUTE_HANDLERS = {
  token: async ({ event, name, caller }, deps) => {
    assertValidClientId(name);
    const options = apiVendOptions(event, deps.maxWaitMs);
    return serveVend(deps, { kind: 'token', clientId: name, options }, caller);
  },
  invalidate: async ({ event, name, caller }, deps) => {
    assertValidClientId(name);
    const accessToken = rejectedTokenIn(event);
    const options = apiVendOptions(event, deps.maxWaitMs);
    return serveVend(deps, { kind: 'invalidate', clientId: name, accessToken, options }, caller);
  },
  'instance-token': async ({ event, name, caller }, deps) => {
    assertValidInstance(name);
    const options = apiVendOptions(event, deps.maxWaitMs);
    return serveVend(deps, { kind: 'instance-token', instance: name, options }, caller);
  },
  'instance-invalidate': async ({ event, name, caller }, deps) => {
    assertValidInstance(name);
    const accessToken = rejectedTokenIn(event);
    const options = apiVendOptions(event, deps.maxWaitMs);
    return serveVend(deps, { kind: 'instance-invalidate', instance: name, accessToken, options }, caller);
  },
  permit: (request, deps) => servePermit(request, deps, 'acquire'),
  'permit-release': (request, deps) => servePermit(request, deps, 'release'),
  'instance-permit': (request, deps) => servePermit(request, deps, 'acquire'),
  'instance-permit-release': (request, deps) => servePermit(request, deps, 'release'),
  'bulk-slot': (request, deps) => serveBulkSlot(request, deps, 'acquire'),
  'bulk-slot-renew': (request, deps) => serveBulkSlot(request, deps, 'renew'),
  'bulk-slot-release': (request, deps) => serveBulkSlot(request, deps, 'release'),
  'instance-bulk-slot': (request, deps) => serveBulkSlot(request, deps, 'acquire'),
  'instance-bulk-slot-renew': (request, deps) => serveBulkSlot(request, deps, 'renew'),
  'instance-bulk-slot-release': (request, deps) => serveBulkSlot(request, deps, 'release'),
} satisfies Record<RouteKind, RouteHandler>;

/**
 * Answers an API Gateway REST proxy event: the route comes from `httpMethod` and `resource` (the template
 * API Gateway matched), its handler's result is the 200 body. Throws for the error mapping to answer.
 */
export async function dispatchApiEvent(
  event: APIGatewayProxyEvent,
  deps: ApiDeps,
  caller: string,
): Promise<APIGatewayProxyResult> {
  const route = routeByResource(event.httpMethod, event.resource);
  if (!route) {
    throw new RouteNotFoundError(
      `no route for ${String(event.httpMethod)} ${String(event.path)}`.slice(0, 300),
    );
  }
  const handler: RouteHandler = ROUTE_HANDLERS[route.kind];
  const body = await handler(
    { event, route, name: event.pathParameters?.[route.pathParameter], caller },
    deps,
  );
  return { statusCode: 200, headers: { ...NO_STORE_HEADERS }, body: JSON.stringify(body) };
}
