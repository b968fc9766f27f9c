import type { APIGatewayProxyEvent, Context } from 'aws-lambda';

/** A minimal API Gateway REST proxy event, as the deployed API (and local mode) sends it. */
export function apiEvent(request: {
  method: string;
  resource: string;
  path: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  body?: string;
  userArn?: string;
}): APIGatewayProxyEvent {
  return {
    httpMethod: request.method,
    resource: request.resource,
    path: request.path,
    pathParameters: request.pathParameters ?? null,
    queryStringParameters: request.query ?? null,
    multiValueQueryStringParameters: null,
    headers: {},
    multiValueHeaders: {},
    body: request.body ?? null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: {
      identity: {
        userArn: request.userArn ?? 'arn:aws:iam::111122223333:role/consumer',
        caller: 'AROAEXAMPLE',
      },
    } as APIGatewayProxyEvent['requestContext'],
  };
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
