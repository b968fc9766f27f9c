/**
 * One local API request, checked in the order API Gateway with `AWS_IAM` checks it, then handed to the
 * same vend handler Lambda runs: addressing (Host, Origin), request target (parsed once), body size,
 * SigV4, the local policy, and only then the handler. Every refusal is answered from the gateway-error
 * table and every request, refused or not, gets one access-log line.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { API_INTEGRATION_TIMEOUT_MS } from '../functions/contract/index.js';
import { type AccessLogEntry, CLIENT_CLOSED, loggedPathOf } from './access-log.js';
import { buildRouteEvent, headerPairs } from './api-event.js';
import { type Refusal, refusalAnswer } from './gateway-refusal.js';
import { checkAddressing, clientClosedEarly, type HttpLimits, readBodyUpTo } from './http-guard.js';
import { executeApiArn, isAllowed, type LocalPolicy } from './policy.js';
import { checkTargetName, parseRequestTarget } from './request-target.js';
import { SIGV4_MESSAGES, type SigV4Verifier } from './sigv4-verifier.js';

/** The vend handler as local mode calls it (middy's handler type, narrowed). */
export type VendHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<unknown>;

export interface LocalApiOptions {
  readonly region: string;
  /** The port the API listens on: the only one a Host header may name. */
  readonly port: number;
  readonly limits: HttpLimits;
  readonly verifier: SigV4Verifier;
  readonly policy: LocalPolicy;
  readonly vend: VendHandler;
  readonly onRequest?: (entry: AccessLogEntry) => void;
  /** Told when a request carried a valid signature of a known key (its connection has proven itself). */
  readonly onSigned?: (req: IncomingMessage) => void;
  /** Told about requests that failed unexpectedly (error name only: never a secret or a token). */
  readonly onEvent?: (message: string) => void;
}

type Headers = Record<string, string | number | boolean>;

/** A Lambda context good enough for middy and Powertools; local mode has no real one. */
const localContext = (requestId: string): Context =>
  ({
    functionName: 'marketo-token-vendor-local-vend',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:marketo-token-vendor-local-vend',
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: '/local/marketo-token-vendor',
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => API_INTEGRATION_TIMEOUT_MS,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as Context;

const isProxyResult = (value: unknown): value is APIGatewayProxyResult =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { statusCode?: unknown }).statusCode === 'number';

/** The request handler of the local API. */
export function createLocalApiHandler(
  options: LocalApiOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { verifier, policy, region } = options;

  return async (req, res) => {
    const started = performance.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const rawTarget = req.url ?? '/';
    const loggedPath = loggedPathOf(rawTarget);
    // API Gateway's x-amzn-RequestId is the request's id, which the handler's audit lines carry too.
    const requestId = randomUUID();
    let principal: string | undefined;

    const finish = (status: number, headers: Headers, body: string): void => {
      if (!res.headersSent) {
        res.writeHead(status, {
          ...headers,
          'x-amzn-RequestId': requestId,
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      }
      options.onRequest?.({
        method,
        path: loggedPath,
        status,
        ms: Math.round(performance.now() - started),
        ...(principal === undefined ? {} : { principal }),
      });
    };
    /** `unread`: the body was not read, so the connection cannot carry another request. */
    const refuse = (refusal: Refusal, unread = false): void => {
      const answer = refusalAnswer(refusal);
      finish(
        answer.status,
        unread ? { ...answer.headers, connection: 'close' } : answer.headers,
        answer.body,
      );
    };

    try {
      const addressing = checkAddressing(req, options.port);
      if (addressing !== undefined) return refuse({ kind: 'ACCESS_DENIED', message: addressing }, true);

      const parsed = parseRequestTarget(method, rawTarget);
      if (!parsed.ok) return refuse(parsed.refusal, true);
      const { target } = parsed;

      // No more than the largest valid request is read before the signature is checked.
      const body = await readBodyUpTo(req, options.limits.maxBodyBytes);
      if (body === undefined) return refuse({ kind: 'REQUEST_TOO_LARGE' }, true);

      const verified = await verifier.verify({
        method,
        path: target.rawPath,
        rawQuery: target.rawQuery,
        headers: req.headers,
        body,
      });
      if (!verified.ok) {
        return refuse({ kind: verified.kind, message: verified.message, errorType: verified.errorType });
      }
      const key = await policy.lookup(verified.accessKeyId);
      if (!key) {
        return refuse({
          kind: 'INVALID_SIGNATURE',
          message: SIGV4_MESSAGES.unknownKey,
          errorType: 'UnrecognizedClientException',
        });
      }
      principal = key.principalArn;
      options.onSigned?.(req);
      const badName = checkTargetName(target);
      if (badName !== undefined) return refuse(badName);
      const resource =
        target.route.grant === 'client'
          ? ({ kind: 'client', clientId: target.name } as const)
          : ({ kind: 'instance', instance: target.name } as const);
      if (!isAllowed(key, resource)) {
        return refuse({
          kind: 'ACCESS_DENIED',
          message: `User: ${key.principalArn} is not authorized to perform: execute-api:Invoke on resource: ${executeApiArn(region, method, target.path)}`,
        });
      }

      const event = buildRouteEvent(target.route, target.name, {
        query: target.query,
        headers: headerPairs(req.rawHeaders),
        body: body.length === 0 ? null : body.toString('utf8'),
        caller: {
          accessKeyId: verified.accessKeyId,
          userArn: key.principalArn,
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: req.headers['user-agent'] ?? null,
        },
        requestId,
        requestTimeEpochMs: Date.now(),
        protocol: `HTTP/${req.httpVersion}`,
      });
      let result: APIGatewayProxyResult;
      try {
        const output = await options.vend(event, localContext(requestId));
        if (!isProxyResult(output)) throw new Error('vend handler returned a non-proxy result');
        result = output;
      } catch (error) {
        // What API Gateway answers when the Lambda integration itself fails.
        options.onEvent?.(`vend handler failed: ${(error as Error).name}`);
        return refuse({ kind: 'DEFAULT_5XX', status: 502 });
      }
      const headers: Headers = { ...result.headers };
      for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
        headers[name] = values.map(String).join(', ');
      }
      const responseBody = result.isBase64Encoded
        ? Buffer.from(result.body, 'base64').toString()
        : result.body;
      finish(result.statusCode, headers, responseBody);
    } catch (error) {
      if (clientClosedEarly(req)) {
        const ms = Math.round(performance.now() - started);
        options.onRequest?.({ method, path: loggedPath, ms, ...CLIENT_CLOSED });
        return;
      }
      // Nothing above should throw; if it does, the request still gets the gateway's answer and a log line.
      options.onEvent?.(`${method} ${loggedPath} failed: ${(error as Error).name ?? 'Error'}`);
      refuse({ kind: 'DEFAULT_5XX' }, true);
    }
  };
}
