import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { readRuntimeConfig } from './config.js';
import type { RefreshSummary, TokenVendor } from './core/vendor.js';
import { createAwsVendor } from './runtime.js';
import { coreLogger, coreMetrics, createTelemetry, type Telemetry } from './telemetry.js';

export interface RefreshHandlerDeps {
  readonly vendor: TokenVendor;
  readonly telemetry: Telemetry;
  /** Tokens expiring within this window are waited out and replaced in this run. @default 60_000 */
  readonly horizonMs?: number;
  /** Identity fetches in flight at once. @default 8 */
  readonly concurrency?: number;
}

/**
 * The scheduled refresher: one sweep over every registered client. Returns (and logs) the summary
 * `{clients, fetched, waited, valid, failed}`; one failing client never stops the others.
 */
export function createRefreshHandler(deps: RefreshHandlerDeps) {
  return middy<unknown, RefreshSummary>()
    .use(injectLambdaContext(deps.telemetry.logger, { resetKeys: true }))
    .use(logMetrics(deps.telemetry.metrics))
    .handler(() =>
      deps.vendor.refreshAll({ horizonMs: deps.horizonMs ?? 60_000, concurrency: deps.concurrency ?? 8 }),
    );
}

let built: ReturnType<typeof createRefreshHandler> | undefined;

/** Lambda entry for the EventBridge schedule. */
export const handler = (event: unknown, context: Context): Promise<RefreshSummary> => {
  if (!built) {
    const config = readRuntimeConfig();
    const telemetry = createTelemetry('marketo-token-vendor');
    const vendor = createAwsVendor(config, {
      logger: coreLogger(telemetry.logger),
      metrics: coreMetrics(telemetry.metrics),
    });
    built = createRefreshHandler({
      vendor,
      telemetry,
      horizonMs: config.refreshHorizonMs,
      concurrency: config.refreshConcurrency,
    });
  }
  return built(event, context);
};
