import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createAwsRuntime, type RefreshFanOut } from './aws-refresher.js';
import { readRuntimeConfig } from './config.js';
import {
  DEFAULT_REFRESH_CONCURRENCY,
  DEFAULT_REFRESH_HORIZON_SECONDS,
  ERROR_TABLE,
  isErrorCode,
  parseRefreshBatch,
} from './contract/index.js';
import type { RegisteredClient } from './core/ports.js';
import { planRefreshBatches } from './core/refresh-plan.js';
import type { RefreshSummary, TokenVendor } from './core/token-vendor-api.js';
import { coreTelemetry, createTelemetry, type Telemetry } from './telemetry.js';

export interface RefreshHandlerDeps {
  readonly vendor: TokenVendor;
  readonly telemetry: Telemetry;
  /** Tokens expiring within this window are waited out and replaced in this run. @default 60_000 */
  readonly horizonMs?: number;
  /** Identity fetches in flight at once. @default 8 */
  readonly concurrency?: number;
  /** @default - no fan-out: every scheduled run sweeps all clients itself */
  readonly fanOut?: RefreshFanOut;
}

/** What a scheduled run did when it fanned out instead of sweeping. */
export interface FanOutSummary {
  readonly clients: number;
  readonly batches: number;
}

export type RefreshResult = RefreshSummary | FanOutSummary | SQSBatchResponse;

const isSqsEvent = (event: unknown): event is SQSEvent =>
  typeof event === 'object' &&
  event !== null &&
  Array.isArray((event as SQSEvent).Records) &&
  (event as SQSEvent).Records.every((r) => r.eventSource === 'aws:sqs');

/** A failure another delivery may cure (Identity, Secrets Manager or the store briefly unavailable). */
const isRetryable = (code: string): boolean => isErrorCode(code) && ERROR_TABLE[code].retryable;

/**
 * The refresher. On the schedule it sweeps every registered client, or, past the fan-out threshold, queues
 * batches; on an SQS event it sweeps the batches it was given. One failing client never stops the others.
 * A batch message is reported as failed (`batchItemFailures`), so SQS delivers it again and finally moves
 * it to the dead-letter queue, when the sweep failed or any of its clients failed for a reason a retry can
 * cure. A message that does not parse is dropped (logged): no delivery will ever parse it. Failures no
 * retry cures (misconfigured or rejected credentials, unknown client) are logged and counted, not
 * redelivered: another Identity call would only repeat them.
 */
export function createRefreshHandler(deps: RefreshHandlerDeps) {
  const { vendor, telemetry, fanOut } = deps;
  const sweepOptions = {
    horizonMs: deps.horizonMs ?? DEFAULT_REFRESH_HORIZON_SECONDS * 1000,
    concurrency: deps.concurrency ?? DEFAULT_REFRESH_CONCURRENCY,
  };

  const onSchedule = async (): Promise<RefreshSummary | FanOutSummary> => {
    if (!fanOut) return vendor.refreshAll(sweepOptions);
    const clients = await fanOut.listClients();
    if (clients.length <= fanOut.thresholdClients) return vendor.refreshAll({ ...sweepOptions, clients });
    const batches = planRefreshBatches(clients, fanOut.batchSize);
    await fanOut.dispatch(batches);
    const summary = { clients: clients.length, batches: batches.length };
    telemetry.logger.info('refresh fanned out', summary);
    return summary;
  };

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
      summary = await vendor.refreshAll({ ...sweepOptions, clients });
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
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      if (await sweepMessage(record)) batchItemFailures.push({ itemIdentifier: record.messageId });
    }
    return { batchItemFailures };
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
      ...(runtime.fanOut === undefined ? {} : { fanOut: runtime.fanOut }),
    });
  }
  return built(event, context);
};
