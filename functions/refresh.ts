import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { readRuntimeConfig } from './config.js';
import { assertValidClientId } from './core/credentials.js';
import type { RegisteredClient } from './core/ports.js';
import { planRefreshBatches } from './core/refresh-plan.js';
import type { RefreshSummary, TokenVendor } from './core/vendor.js';
import { createAwsRuntime } from './runtime.js';
import { coreLogger, coreMetrics, createTelemetry, type Telemetry } from './telemetry.js';

/** Fan-out: the scheduled run splits the clients into batches and queues them for worker invocations. */
export interface RefreshFanOut {
  /** Above this many clients the scheduled run queues batches instead of sweeping itself. @default 500 */
  readonly thresholdClients: number;
  /** Clients per batch (pool members are never split). @default 100 */
  readonly batchSize: number;
  readonly listClients: () => Promise<RegisteredClient[]>;
  readonly dispatch: (batches: ReadonlyArray<readonly RegisteredClient[]>) => Promise<void>;
}

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

const parseBatch = (body: string): RegisteredClient[] => {
  const parsed = JSON.parse(body) as { clients?: unknown };
  if (!Array.isArray(parsed.clients)) throw new Error('refresh batch message has no clients array');
  return parsed.clients.map((entry: unknown) => {
    const { clientId, instance } = (entry ?? {}) as { clientId?: unknown; instance?: unknown };
    assertValidClientId(clientId);
    return typeof instance === 'string' ? { clientId, instance } : { clientId };
  });
};

/**
 * The refresher. On the schedule it sweeps every registered client, or, past the fan-out threshold, queues
 * batches; on an SQS event it sweeps the batches it was given. Summaries are logged and returned; one failing
 * client never stops the others, and a refresh failure is not retried through SQS (the next run retries).
 */
export function createRefreshHandler(deps: RefreshHandlerDeps) {
  const { vendor, telemetry, fanOut } = deps;
  const sweepOptions = { horizonMs: deps.horizonMs ?? 60_000, concurrency: deps.concurrency ?? 8 };

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

  const onBatches = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      let clients: RegisteredClient[];
      try {
        clients = parseBatch(record.body);
      } catch (error) {
        // A malformed message will never parse: drop it (logged) rather than loop it into the DLQ.
        telemetry.logger.error('refresh batch message dropped', {
          messageId: record.messageId,
          reason: error instanceof Error ? error.message : 'unparseable',
        });
        continue;
      }
      try {
        await vendor.refreshAll({ ...sweepOptions, clients });
      } catch {
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
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
    const telemetry = createTelemetry('marketo-token-vendor');
    const runtime = createAwsRuntime(config, {
      logger: coreLogger(telemetry.logger),
      metrics: coreMetrics(telemetry.metrics),
    });
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
