import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { readRuntimeConfig } from './config.js';
import { InvalidRequestError, isTokenVendorError, RouteNotFoundError } from './core/errors.js';
import { fingerprint } from './core/fingerprint.js';
import type { TokenVendor, VendedToken, VendOptions } from './core/vendor.js';
import { errorResponse, NO_STORE_HEADERS } from './http/error-response.js';
import { parseApiRequest, parseDirectRequest, type VendRequest } from './http/vend-request.js';
import { createAwsVendor } from './runtime.js';
import { coreLogger, coreMetrics, createTelemetry, type Telemetry } from './telemetry.js';

/** Direct invoke payload (Lambda invoke, Step Functions `LambdaInvoke`). */
export interface DirectVendEvent {
  readonly clientId?: string;
  readonly instance?: string;
  readonly minValidity?: number;
  readonly maxWaitSeconds?: number;
  /** With `action: 'invalidate'`: the token Marketo rejected with 601/602. */
  readonly accessToken?: string;
  readonly action?: 'getToken' | 'invalidate';
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

export type VendEvent = APIGatewayProxyEvent | DirectVendEvent;
export type VendResult = APIGatewayProxyResult | TokenResponse;

export interface VendHandlerDeps {
  readonly vendor: TokenVendor;
  readonly telemetry: Telemetry;
  /** Upper bound for a caller's `maxWaitSeconds`. @default 25_000 */
  readonly maxWaitMs?: number;
}

// `httpMethod` alone marks an API event: one without `requestContext` must still get an HTTP answer.
const isApiEvent = (event: VendEvent): event is APIGatewayProxyEvent =>
  typeof event === 'object' && event !== null && 'httpMethod' in event;

const toResponse = (token: VendedToken): TokenResponse => ({
  clientId: token.clientId,
  accessToken: token.accessToken,
  tokenType: token.tokenType,
  expiresAt: new Date(token.expiresAt).toISOString(),
  expiresIn: token.expiresInSeconds,
  ...(token.scope === undefined ? {} : { scope: token.scope }),
});

const execute = (vendor: TokenVendor, request: VendRequest): Promise<VendedToken> => {
  const options: VendOptions = request.options;
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

/**
 * The vend handler: API Gateway REST proxy events and direct invokes. It parses, calls the engine once,
 * shapes the response, and writes one audit line (caller, client, token fingerprint).
 */
export function createVendHandler(deps: VendHandlerDeps) {
  const { vendor, telemetry } = deps;
  const { logger } = telemetry;
  const maxWaitMs = deps.maxWaitMs ?? 25_000;

  const audit = (request: VendRequest, token: VendedToken, caller: string): void =>
    logger.info('vend', {
      action: request.kind,
      ...('instance' in request ? { instance: request.instance } : {}),
      clientId: token.clientId,
      caller,
      token: fingerprint(token.accessToken),
      source: token.source,
      expiresIn: token.expiresInSeconds,
    });

  const onApi = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const caller =
      event.requestContext?.identity?.userArn ?? event.requestContext?.identity?.caller ?? 'unknown';
    try {
      const request = parseApiRequest(event, maxWaitMs);
      const token = await execute(vendor, request);
      audit(request, token, caller);
      return { statusCode: 200, headers: { ...NO_STORE_HEADERS }, body: JSON.stringify(toResponse(token)) };
    } catch (error) {
      logFailure(error, caller);
      return errorResponse(error);
    }
  };

  const onDirect = async (event: DirectVendEvent, context: Context | undefined): Promise<TokenResponse> => {
    const caller = context?.invokedFunctionArn ? 'direct-invoke' : 'direct';
    try {
      const request = parseDirectRequest(event, maxWaitMs);
      const token = await execute(vendor, request);
      audit(request, token, caller);
      return toResponse(token);
    } catch (error) {
      logFailure(error, caller);
      // Step Functions `Catch` matches on the error name, so typed errors are rethrown as they are.
      if (isTokenVendorError(error)) throw error;
      const internal = new Error('internal error');
      internal.name = 'InternalError';
      throw internal;
    }
  };

  const logFailure = (error: unknown, caller: string): void => {
    if (isTokenVendorError(error)) {
      const level =
        error instanceof InvalidRequestError || error instanceof RouteNotFoundError ? 'info' : 'warn';
      logger[level]('vend failed', { code: error.code, reason: error.message, caller });
    } else {
      logger.error('vend failed unexpectedly', {
        caller,
        errorName: error instanceof Error ? error.name : typeof error,
      });
    }
  };

  return middy<VendEvent, VendResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(telemetry.metrics))
    .handler((event, context) => (isApiEvent(event) ? onApi(event) : onDirect(event ?? {}, context)));
}

let built: ReturnType<typeof createVendHandler> | undefined;

/** Lambda entry: dependencies are built once per execution environment, on the first event. */
export const handler = (event: VendEvent, context: Context): Promise<VendResult> => {
  if (!built) {
    const config = readRuntimeConfig();
    const telemetry = createTelemetry('marketo-token-vendor');
    const { vendor } = createAwsVendor(config, {
      logger: coreLogger(telemetry.logger),
      metrics: coreMetrics(telemetry.metrics),
    });
    built = createVendHandler({ vendor, telemetry, maxWaitMs: config.maxWaitMs });
  }
  return built(event, context);
};
