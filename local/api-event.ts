/**
 * The API Gateway REST proxy event the vend handler receives, built in one place: local mode builds
 * each request's event here from the route it matched (`buildRouteEvent`), and the tests' `routeEvent`
 * and `apiEvent` (test/support/api-event.ts) build theirs with the same functions, so both feed the
 * handler the same shape the deployed API does.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { type Route, routePath } from '../functions/contract/index.js';
import { LOCAL_ACCOUNT_ID } from './policy.js';

/** What an event is built from, besides its route. */
export interface RequestInput {
  /** Query parameters in order; repeated names keep every value in the multi-value map. */
  readonly query?: Iterable<readonly [string, string]>;
  /** Header name/value pairs in order, as received (`IncomingMessage.rawHeaders`, paired). */
  readonly headers?: Iterable<readonly [string, string]>;
  readonly body: string | null;
  /** Who signed the request. */
  readonly caller: {
    readonly userArn: string;
    readonly accessKeyId: string;
    readonly sourceIp?: string;
    readonly userAgent?: string | null;
  };
  readonly requestId: string;
  readonly requestTimeEpochMs: number;
  /** @default 'local' */
  readonly stage?: string;
  /** @default 'HTTP/1.1' */
  readonly protocol?: string;
}

/** What an event is built from, for any method and resource (also ones the route table does not have). */
export interface ApiEventInput extends RequestInput {
  readonly method: string;
  /** API Gateway resource template (`/tokens/{clientId}`). */
  readonly resource: string;
  /** The request path, without stage. */
  readonly path: string;
  readonly pathParameters: Readonly<Record<string, string>> | null;
}

/**
 * Single values (last wins) and every value by name, as API Gateway passes headers and query strings. Both
 * maps have no prototype: a name like `toString`, `constructor` or `__proto__` is a name like any other,
 * never an inherited member (which answered 500, or for `__proto__` vanished).
 */
function singleAndMulti(pairs: Iterable<readonly [string, string]> | undefined) {
  const single: Record<string, string> = Object.create(null);
  const multi: Record<string, string[]> = Object.create(null);
  for (const [name, value] of pairs ?? []) {
    single[name] = value;
    const existing = multi[name];
    if (existing) existing.push(value);
    else multi[name] = [value];
  }
  return { single, multi, any: Object.keys(single).length > 0 };
}

/** Pairs `IncomingMessage.rawHeaders` (`[name, value, name, value, …]`). */
export function headerPairs(rawHeaders: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    pairs.push([rawHeaders[i] as string, rawHeaders[i + 1] as string]);
  }
  return pairs;
}

/** The REST proxy event of one request. */
export function buildApiEvent(input: ApiEventInput): APIGatewayProxyEvent {
  const headers = singleAndMulti(input.headers);
  const query = singleAndMulti(input.query);
  const stage = input.stage ?? 'local';
  return {
    resource: input.resource,
    path: input.path,
    httpMethod: input.method,
    headers: headers.single,
    multiValueHeaders: headers.multi,
    queryStringParameters: query.any ? query.single : null,
    multiValueQueryStringParameters: query.any ? query.multi : null,
    pathParameters: input.pathParameters === null ? null : { ...input.pathParameters },
    stageVariables: null,
    body: input.body,
    isBase64Encoded: false,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: 'local',
      authorizer: undefined,
      protocol: input.protocol ?? 'HTTP/1.1',
      httpMethod: input.method,
      identity: {
        accessKey: input.caller.accessKeyId,
        accountId: LOCAL_ACCOUNT_ID,
        apiKey: null,
        apiKeyId: null,
        caller: input.caller.accessKeyId,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: input.caller.sourceIp ?? '127.0.0.1',
        user: input.caller.accessKeyId,
        userAgent: input.caller.userAgent ?? null,
        userArn: input.caller.userArn,
      },
      path: `/${stage}${input.path}`,
      stage,
      requestId: input.requestId,
      requestTimeEpoch: input.requestTimeEpochMs,
      resourceId: 'local',
      resourcePath: input.resource,
    },
  };
}

/** The event of a request API Gateway matched to `route`, with `name` (decoded) in its path parameter. */
export function buildRouteEvent(route: Route, name: string, input: RequestInput): APIGatewayProxyEvent {
  return buildApiEvent({
    ...input,
    method: route.method,
    resource: route.resource,
    path: routePath(route, name),
    pathParameters: { [route.pathParameter]: name },
  });
}
