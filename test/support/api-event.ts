import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { buildApiEvent } from '../../local/api-event.js';

/**
 * A REST proxy event as the deployed API (and local mode) sends it: built by local mode's own builder,
 * so the handler tests and local mode feed the handler one shape.
 */
export function apiEvent(request: {
  method: string;
  resource: string;
  path: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  body?: string;
  userArn?: string;
}): APIGatewayProxyEvent {
  return buildApiEvent({
    method: request.method,
    resource: request.resource,
    path: request.path,
    pathParameters: request.pathParameters ?? null,
    query: Object.entries(request.query ?? {}),
    body: request.body ?? null,
    caller: {
      accessKeyId: 'AROAEXAMPLE',
      userArn: request.userArn ?? 'arn:aws:iam::111122223333:role/consumer',
    },
    requestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    requestTimeEpochMs: 0,
  });
}

/** `GET /tokens/{clientId}` */
export const getTokenEvent = (clientId: string, query?: Record<string, string>): APIGatewayProxyEvent =>
  apiEvent({
    method: 'GET',
    resource: '/tokens/{clientId}',
    path: `/tokens/${clientId}`,
    pathParameters: { clientId },
    query,
  });

/** `POST /tokens/{clientId}/invalidate` */
export const invalidateEvent = (clientId: string, body: string): APIGatewayProxyEvent =>
  apiEvent({
    method: 'POST',
    resource: '/tokens/{clientId}/invalidate',
    path: `/tokens/${clientId}/invalidate`,
    pathParameters: { clientId },
    body,
  });

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
