import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createAwsPermitService, readBudgetConfig } from './budget-runtime.js';
import { readRuntimeConfig } from './config.js';
import { DEFAULT_MAX_WAIT_MS } from './contract/index.js';
import { InvalidRequestError, isTokenVendorError, RouteNotFoundError } from './core/errors.js';
import { fingerprint } from './core/fingerprint.js';
import type { TokenVendor, VendedToken } from './core/token-vendor-api.js';
import { DEFAULT_TOKEN_VENDOR_CONFIG } from './core/vendor-config.js';
import { errorResponse, NO_STORE_HEADERS } from './http/error-response.js';
import { type PermitService, permitRouteOf } from './http/permit-request.js';
import { DirectInvokeError, publicError } from './http/public-error.js';
import { parseApiRequest, parseDirectRequest, type VendRequest } from './http/vend-request.js';
import { createAwsVendor } from './runtime.js';
import { coreTelemetry, createTelemetry, type Telemetry } from './telemetry.js';

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
  /** Upper bound for a caller's `maxWaitSeconds`. @default DEFAULT_MAX_WAIT_MS (25 s) */
  readonly maxWaitMs?: number;
  /** The Marketo API budget's permit routes. @default none: those routes answer 404 */
  readonly permits?: PermitService;
}

// `httpMethod` alone marks an API event: one without `requestContext` must still get an HTTP answer.
const isApiEvent = (event: VendEvent): event is APIGatewayProxyEvent =>
  typeof event === 'object' && event !== null && 'httpMethod' in event;

/** Who asked, for the audit line: the IAM caller of an API request, or the kind of direct invoke. */
const callerOf = (event: VendEvent, context: Context | undefined): string => {
  if (isApiEvent(event)) {
    const identity = event.requestContext?.identity;
    return identity?.userArn ?? identity?.caller ?? 'unknown';
  }
  return context?.invokedFunctionArn ? 'direct-invoke' : 'direct';
};

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

/**
 * The one place a failed vend becomes an answer (middy `onError`): logged in full for operators, then an
 * API event gets `{error:{code,message}}` with its status, and a direct invoke rethrows an error named by
 * its code (Step Functions `Catch` matches on the name). Either way the caller sees no path, ARN or host.
 */
export const vendErrorMapping = (telemetry: Telemetry): MiddlewareObj<VendEvent, VendResult> => ({
  onError: async (request) => {
    const { error, event, context } = request;
    const caller = callerOf(event, context);
    if (isTokenVendorError(error)) {
      const expected = error instanceof InvalidRequestError || error instanceof RouteNotFoundError;
      telemetry.logger[expected ? 'info' : 'warn']('vend failed', {
        code: error.code,
        reason: error.message,
        caller,
      });
    } else {
      telemetry.logger.error('vend failed unexpectedly', {
        caller,
        errorName: error instanceof Error ? error.name : typeof error,
      });
    }
    if (isApiEvent(event)) {
      request.response = errorResponse(error);
      return;
    }
    request.error = new DirectInvokeError(publicError(error));
  },
});

/**
 * The vend handler: API Gateway REST proxy events and direct invokes. It parses, calls the engine once,
 * shapes the response, and writes one audit line (caller, client, token fingerprint). Failures are mapped
 * by {@link vendErrorMapping}.
 */
export function createVendHandler(deps: VendHandlerDeps) {
  const { vendor, telemetry } = deps;
  const maxWaitMs = deps.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;

  const usage = deps.permits?.usage;
  const vend = async (request: VendRequest, caller: string): Promise<TokenResponse> => {
    const token = await execute(vendor, request);
    // Usage per consumer: the vend is booked to the caller, through the client (or pool) it asked for.
    usage?.recordVend(
      'instance' in request ? { instance: request.instance } : { clientId: request.clientId },
      token.clientId,
      caller,
    );
    await usage?.flushIfDue();
    telemetry.logger.info('vend', {
      action: request.kind,
      ...('instance' in request ? { instance: request.instance } : {}),
      clientId: token.clientId,
      caller,
      token: fingerprint(token.accessToken),
      source: token.source,
      expiresIn: token.expiresInSeconds,
    });
    return toResponse(token);
  };

  return middy<VendEvent, VendResult>()
    .use(injectLambdaContext(telemetry.logger, { resetKeys: true }))
    .use(logMetrics(telemetry.metrics))
    .use(vendErrorMapping(telemetry))
    .handler(async (event, context) => {
      const caller = callerOf(event ?? {}, context);
      if (isApiEvent(event)) {
        // The Marketo API budget's permit routes (functions/http/permit-request.ts) share this function.
        const permitRoute = deps.permits ? permitRouteOf(event) : undefined;
        if (permitRoute && deps.permits) return deps.permits.handleApi(event, permitRoute, caller);
        const token = await vend(parseApiRequest(event, maxWaitMs), caller);
        return { statusCode: 200, headers: { ...NO_STORE_HEADERS }, body: JSON.stringify(token) };
      }
      return vend(parseDirectRequest(event ?? {}, maxWaitMs), caller);
    });
}

let built: ReturnType<typeof createVendHandler> | undefined;

/** Lambda entry: dependencies are built once per execution environment, on the first event. */
export const handler = (event: VendEvent, context: Context): Promise<VendResult> => {
  if (!built) {
    const config = readRuntimeConfig();
    const telemetry = createTelemetry();
    const { vendor, credentials } = createAwsVendor(config, coreTelemetry(telemetry));
    const permits = createAwsPermitService(readBudgetConfig(), credentials, telemetry, {
      vendor,
      urlPolicy: config.vendor.identityUrlPolicy ?? DEFAULT_TOKEN_VENDOR_CONFIG.identityUrlPolicy,
    });
    built = createVendHandler({ vendor, telemetry, maxWaitMs: config.maxWaitMs, permits });
  }
  return built(event, context);
};
