import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { type RouteKind, type RouteOfKind, routeOf } from '../../functions/contract/index.js';
import { buildApiEvent, buildRouteEvent, type RequestInput } from '../../local/api-event.js';

/** What a test request carries besides its route: query, body (an object is sent as JSON) and caller. */
export interface TestRequest {
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: string | object;
  readonly userArn?: string;
}

const requestInput = (request: TestRequest): RequestInput => ({
  query: Object.entries(request.query ?? {}),
  body:
    request.body === undefined
      ? null
      : typeof request.body === 'string'
        ? request.body
        : JSON.stringify(request.body),
  caller: {
    accessKeyId: 'AROAEXAMPLE',
    userArn: request.userArn ?? 'arn:aws:iam::111122223333:role/consumer',
  },
  requestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  requestTimeEpochMs: 0,
});

/**
 * The REST proxy event of a request API Gateway matched to a route of the contract's table, built by
 * local mode's own builder, so the handler tests and local mode feed the handler one shape:
 * `routeEvent('token', { clientId: 'acme' }, { query: { minValidity: '60' } })`.
 */
export function routeEvent<K extends RouteKind>(
  kind: K,
  params: Readonly<Record<RouteOfKind<K>['pathParameter'], string>>,
  request: TestRequest = {},
): APIGatewayProxyEvent {
  const route = routeOf(kind);
  const name = (params as Readonly<Record<string, string>>)[route.pathParameter] as string;
  return buildRouteEvent(route, name, requestInput(request));
}

/** An event for any method and resource, also ones the route table does not have (unknown routes). */
export function apiEvent(
  request: TestRequest & {
    readonly method: string;
    readonly resource: string;
    readonly path: string;
    readonly pathParameters?: Record<string, string>;
  },
): APIGatewayProxyEvent {
  return buildApiEvent({
    ...requestInput(request),
    method: request.method,
    resource: request.resource,
    path: request.path,
    pathParameters: request.pathParameters ?? null,
  });
}

/** A Lambda context good enough for middy and the Powertools middlewares. */
export const lambdaContext = (functionName = 'vend'): Context =>
  ({
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:111122223333:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as Context;
