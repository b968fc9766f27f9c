import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createAwsBulkSlotService } from './aws-bulk-slot-service.js';
import { createAwsPermitService } from './aws-permit-service.js';
import { createAwsVendor } from './aws-vendor.js';
import { readBudgetConfig, readBulkConfig, readRuntimeConfig } from './config.js';
import { API_TOKEN_ROTATING_METRIC, DEFAULT_MAX_WAIT_MS, type ErrorCode } from './contract/index.js';
import { isTokenVendorError } from './core/errors.js';
import type { TokenVendor } from './core/token-vendor-api.js';
import { DEFAULT_TOKEN_VENDOR_CONFIG } from './core/vendor-config.js';
import type { BulkSlotService } from './http/bulk-slot-request.js';
import { errorResponse } from './http/error-response.js';
import type { PermitService } from './http/permit-request.js';
import { DirectInvokeError, publicError } from './http/public-error.js';
import { type ApiDeps, dispatchApiEvent } from './http/router.js';
import { parseDirectRequest, serveVend, type TokenResponse } from './http/vend-request.js';
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

export type VendEvent = APIGatewayProxyEvent | DirectVendEvent;
export type VendResult = APIGatewayProxyResult | TokenResponse;

export interface VendHandlerDeps {
  readonly vendor: TokenVendor;
  readonly telemetry: Telemetry;
  /** Upper bound for a caller's `maxWaitSeconds`. @default DEFAULT_MAX_WAIT_MS (24 s) */
  readonly maxWaitMs?: number;
  /** The Marketo API budget's permit routes. @default none: those routes answer 404 */
  readonly permits?: PermitService;
  /** The Bulk API slot routes. @default none: those routes answer 404 */
  readonly bulkSlots?: BulkSlotService;
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

/** Failures that are the caller's own doing or the budget's flow control: logged at INFO, not WARN. */
const EXPECTED_CODES: ReadonlySet<ErrorCode> = new Set([
  'InvalidRequest',
  'NotFound',
  'PermitUnavailable',
  'DailyQuotaExhausted',
  'BulkSlotUnavailable',
  'DailyExportQuotaExhausted',
  'BulkSlotNotHeld',
]);

/**
 * The one place a failure becomes an answer (middy `onError`), whatever the route, token or permit: logged
 * in full for operators, then an API event gets `{error:{code,message}}` (plus the error's details) with its
 * status, and a direct invoke rethrows an error named by its code (Step Functions `Catch` matches on the
 * name). Either way the caller sees no path, ARN or host.
 */
export const vendErrorMapping = (telemetry: Telemetry): MiddlewareObj<VendEvent, VendResult> => ({
  onError: async (request) => {
    const { error, event, context } = request;
    const caller = callerOf(event, context);
    const route = isApiEvent(event) ? { route: `${String(event.httpMethod)} ${String(event.resource)}` } : {};
    if (isTokenVendorError(error)) {
      telemetry.logger[EXPECTED_CODES.has(error.code) ? 'info' : 'warn']('vend failed', {
        code: error.code,
        reason: error.message,
        caller,
        ...route,
      });
    } else {
      telemetry.logger.error('vend failed unexpectedly', {
        caller,
        ...route,
        errorName: error instanceof Error ? error.name : typeof error,
      });
    }
    if (isApiEvent(event)) {
      request.response = errorResponse(error);
      // Intended 503s, counted apart so the API's 5xx alarm can leave them out (lib/vendor-alarms.ts).
      if (isTokenVendorError(error) && error.code === 'TokenRotating') {
        telemetry.metrics.addMetric(API_TOKEN_ROTATING_METRIC, MetricUnit.Count, 1);
      }
      return;
    }
    request.error = new DirectInvokeError(publicError(error));
  },
});

/**
 * The vend handler: API Gateway REST proxy events, dispatched by route (functions/http/router.ts), and
 * direct invokes. Every failure is mapped by {@link vendErrorMapping}.
 */
export function createVendHandler(deps: VendHandlerDeps) {
  const { telemetry } = deps;
  const api: ApiDeps = {
    ...deps,
    maxWaitMs: deps.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
    // Usage per consumer: token vends are booked beside the permits.
    ...(deps.permits?.usage === undefined ? {} : { usage: deps.permits.usage }),
  };

  return middy<VendEvent, VendResult>()
    .use(injectLambdaContext(telemetry.logger, { resetKeys: true }))
    .use(logMetrics(telemetry.metrics))
    .use(vendErrorMapping(telemetry))
    .handler(async (event, context) => {
      const caller = callerOf(event ?? {}, context);
      if (isApiEvent(event)) return dispatchApiEvent(event, api, caller);
      return serveVend(api, parseDirectRequest(event ?? {}, api.maxWaitMs), caller);
    });
}

let built: ReturnType<typeof createVendHandler> | undefined;

/** Lambda entry: dependencies are built once per execution environment, on the first event. */
export const handler = (event: VendEvent, context: Context): Promise<VendResult> => {
  if (!built) {
    const config = readRuntimeConfig();
    const telemetry = createTelemetry();
    const { vendor, credentials } = createAwsVendor(config, coreTelemetry(telemetry));
    const budget = readBudgetConfig();
    const permits = createAwsPermitService(budget, credentials, telemetry, {
      vendor,
      urlPolicy: config.vendor.identityUrlPolicy ?? DEFAULT_TOKEN_VENDOR_CONFIG.identityUrlPolicy,
    });
    const bulkSlots = createAwsBulkSlotService(
      budget,
      readBulkConfig(),
      credentials,
      telemetry,
      permits.usage,
    );
    built = createVendHandler({ vendor, telemetry, maxWaitMs: config.maxWaitMs, permits, bulkSlots });
  }
  return built(event, context);
};
