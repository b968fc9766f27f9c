import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createAwsRuntime } from './aws-refresher.js';
import { readRuntimeConfig } from './config.js';
import {
  DEFAULT_REFRESH_CONCURRENCY,
  DEFAULT_REFRESH_HORIZON_SECONDS,
  ERROR_TABLE,
  isErrorCode,
  parseRefreshBatch,
  REFRESH_WORKER_HORIZON_SECONDS,
} from './contract/index.js';
import type { RegisteredClient } from './core/ports.js';
import type { RefreshPlanSummary } from './core/refresh-planner.js';
import type { RefreshSummary, TokenVendor } from './core/token-vendor-api.js';
import { coreTelemetry, createTelemetry, type Telemetry } from './telemetry.js';

export interface RefreshHandlerDeps {
  readonly vendor: TokenVendor;
  readonly telemetry: Telemetry;
  /** Without a planner: tokens expiring within this window are waited out and replaced in a run. @default 60_000 */
  readonly horizonMs?: number;
  /** Identity fetches in flight at once. @default 8 */
  readonly concurrency?: number;
  /**
   * One scheduled run of the refresh index's planner: queues the refreshes due before the next run, each
   * delayed to its instant (functions/core/refresh-planner.ts).
   * @default - no planner: every scheduled run sweeps all clients itself (local mode, tests)
   */
  readonly plan?: () => Promise<RefreshPlanSummary>;
  /** A queued message's tokens due within this window are refreshed; later ones are stale. @default 5_000 */
  readonly workerHorizonMs?: number;
}

export type RefreshResult = RefreshSummary | RefreshPlanSummary | SQSBatchResponse;

const isSqsEvent = (event: unknown): event is SQSEvent =>
  typeof event === 'object' &&
  event !== null &&
  Array.isArray((event as SQSEvent).Records) &&
  (event as SQSEvent).Records.every((r) => r.eventSource === 'aws:sqs');

/** A failure another delivery may cure (Identity, Secrets Manager or the store briefly unavailable). */
const isRetryable = (code: string): boolean => isErrorCode(code) && ERROR_TABLE[code].retryable;

/**
 * The refresher. On the schedule it runs the planner (or, without one, sweeps every registered client); on
 * an SQS event it refreshes the clients of each message, the messages at once, each message's tokens at
 * their due instants (a message becomes visible just before them). One failing client never stops the
 * others. A message is reported as failed (`batchItemFailures`), so SQS delivers it again and finally moves
 * it to the dead-letter queue, when its sweep failed or any of its clients failed for a reason a retry can
 * cure. A message that does not parse is dropped (logged): no delivery will ever parse it. Failures no
 * retry cures (misconfigured or rejected credentials, unknown client) are logged and counted, not
 * redelivered: another Identity call would only repeat them.
 */
export function createRefreshHandler(deps: RefreshHandlerDeps) {
  const { vendor, telemetry, plan } = deps;
  const concurrency = deps.concurrency ?? DEFAULT_REFRESH_CONCURRENCY;
  const horizonMs = deps.horizonMs ?? DEFAULT_REFRESH_HORIZON_SECONDS * 1000;
  const workerHorizonMs = deps.workerHorizonMs ?? REFRESH_WORKER_HORIZON_SECONDS * 1000;

  const onSchedule = (): Promise<RefreshSummary | RefreshPlanSummary> =>
    plan ? plan() : vendor.refreshAll({ horizonMs, concurrency });

  /** True when the message must be delivered again. */
  const sweepMessage = async (record: SQSRecord): Promise<boolean> => {
    let clients: RegisteredClient[];
    try {
      clients = parseRefreshBatch(record.body);
    } catch (error) {
      // A malformed message will never parse: drop it (logged) rather than cycle it into the DLQ.
      telemetry.logger.error('refresh batch message dropped', {
        messageId: record.messageId,
        reason: error instanceof Error ? error.message : 'unparseable',
      });
      return false;
    }
    let summary: RefreshSummary;
    try {
      summary = await vendor.refreshDue({ clients, horizonMs: workerHorizonMs, concurrency });
    } catch (error) {
      telemetry.logger.warn('refresh batch failed', {
        messageId: record.messageId,
        errorName: error instanceof Error ? error.name : typeof error,
      });
      return true;
    }
    const retryable = summary.failures.filter((failure) => isRetryable(failure.code));
    if (retryable.length > 0) {
      telemetry.logger.warn('refresh batch will be retried', {
        messageId: record.messageId,
        failed: summary.failed,
        retryable: retryable.length,
      });
    }
    return retryable.length > 0;
  };

  const onBatches = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    // Each message's refreshes are due at their own instants: the messages are handled side by side.
    const redeliver = await Promise.all(event.Records.map(sweepMessage));
    return {
      batchItemFailures: event.Records.filter((_, i) => redeliver[i]).map((record) => ({
        itemIdentifier: record.messageId,
      })),
    };
  };

  return middy<unknown, RefreshResult>()
    .use(injectLambdaContext(telemetry.logger, { resetKeys: true }))
    .use(logMetrics(telemetry.metrics))
    .handler((event) => (isSqsEvent(event) ? onBatches(event) : onSchedule()));
}

let built: ReturnType<typeof createRefreshHandler> | undefined;

/** Lambda entry for the EventBridge schedule and the fan-out queue. */
export const handler = (event: unknown, context: Context): Promise<RefreshResult> => {
  if (!built) {
    const config = readRuntimeConfig();
    const telemetry = createTelemetry();
    const runtime = createAwsRuntime(config, coreTelemetry(telemetry));
    built = createRefreshHandler({
      vendor: runtime.vendor,
      telemetry,
      horizonMs: config.refreshHorizonMs,
      concurrency: config.refreshConcurrency,
      ...(runtime.plan === undefined ? {} : { plan: runtime.plan }),
    });
  }
  return built(event, context);
};
