/**
 * The refresher as it was before issue 25 (functions/refresh.ts at 83546bb), kept so that the steady-state
 * scenario runs today's design beside the new one in the same run: every scheduled run lists every client
 * and, past 500, queues batches of 100 (pool members never split); each worker invocation sweeps its batch
 * with the 60 s horizon, sleeping until every expiry in it, one message after another. Frozen: no
 * production code uses it.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ERROR_TABLE, isErrorCode, parseRefreshBatch } from '../../functions/contract/index.js';
import type { RefreshQueue, RegisteredClient } from '../../functions/core/ports.js';
import type { TokenVendor } from '../../functions/core/token-vendor-api.js';
import type { Telemetry } from '../../functions/telemetry.js';

/** Splits clients into batches of about `batchSize`; a pool's members share a batch. */
export function planRefreshBatches(
  clients: readonly RegisteredClient[],
  batchSize: number,
): RegisteredClient[][] {
  const units = new Map<string, RegisteredClient[]>();
  for (const client of clients) {
    const key = client.instance === undefined ? `client:${client.clientId}` : `instance:${client.instance}`;
    units.set(key, [...(units.get(key) ?? []), client]);
  }
  const batches: RegisteredClient[][] = [];
  let current: RegisteredClient[] = [];
  for (const unit of units.values()) {
    if (current.length > 0 && current.length + unit.length > batchSize) {
      batches.push(current);
      current = [];
    }
    current.push(...unit);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** What the handler before issue 25 was built from. */
export interface BeforeRefreshDeps {
  readonly vendor: TokenVendor;
  readonly telemetry: Telemetry;
  readonly horizonMs: number;
  readonly concurrency: number;
  readonly thresholdClients: number;
  readonly batchSize: number;
  readonly listClients: () => Promise<RegisteredClient[]>;
  /** The queue; every batch is sent undelayed. */
  readonly queue: RefreshQueue;
}

const isSqsEvent = (event: unknown): event is SQSEvent =>
  typeof event === 'object' &&
  event !== null &&
  Array.isArray((event as SQSEvent).Records) &&
  (event as SQSEvent).Records.every((r) => r.eventSource === 'aws:sqs');

/** The refresh handler before issue 25. */
export function createBeforeRefreshHandler(
  deps: BeforeRefreshDeps,
): (event: unknown, context: Context) => Promise<unknown> {
  const { vendor, telemetry } = deps;
  const sweepOptions = { horizonMs: deps.horizonMs, concurrency: deps.concurrency };
  const onSchedule = async (): Promise<unknown> => {
    const clients = await deps.listClients();
    if (clients.length <= deps.thresholdClients) return vendor.refreshAll({ ...sweepOptions, clients });
    const batches = planRefreshBatches(clients, deps.batchSize);
    await deps.queue.send(batches.map((batch) => ({ visibleAt: 0, clients: batch })));
    return { clients: clients.length, batches: batches.length };
  };
  const onBatches = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      let retry: boolean;
      try {
        const summary = await vendor.refreshAll({ ...sweepOptions, clients: parseRefreshBatch(record.body) });
        retry = summary.failures.some((f) => isErrorCode(f.code) && ERROR_TABLE[f.code].retryable);
      } catch {
        retry = true;
      }
      if (retry) batchItemFailures.push({ itemIdentifier: record.messageId });
    }
    return { batchItemFailures };
  };
  return middy<unknown, unknown>()
    .use(injectLambdaContext(telemetry.logger, { resetKeys: true }))
    .use(logMetrics(telemetry.metrics))
    .handler((event) => (isSqsEvent(event) ? onBatches(event) : onSchedule()));
}
