/**
 * The refresher on AWS: the vendor ({@link createAwsVendor}) and, when a refresh queue is configured, the
 * planner of its scheduled runs (the refresh index on the token table, the queue on SQS).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoRefreshIndex } from './adapters/dynamo-refresh-index.js';
import { DynamoTokenStore } from './adapters/dynamo-token-store.js';
import { createAwsVendor, FAST_SDK } from './aws-vendor.js';
import type { RuntimeConfig } from './config.js';
import {
  REFRESH_DELIVERY_LEAD_MS,
  REFRESH_OVERDUE_AFTER_SECONDS,
  REFRESH_PLAN_MARGIN_SECONDS,
  REFRESH_RECONCILE_MINUTES,
} from './contract/index.js';
import { systemClock } from './core/clock.js';
import type { RefreshQueue } from './core/ports.js';
import { type RefreshPlanSettings, type RefreshPlanSummary, runRefreshPlan } from './core/refresh-planner.js';
import type { TokenVendor } from './core/token-vendor-api.js';
import type { CoreTelemetry } from './telemetry.js';

/** What the refresh handler runs on: the vendor, plus the planner of scheduled runs when configured. */
export interface AwsRuntime {
  readonly vendor: TokenVendor;
  /** One scheduled run of the refresh planner (absent without a refresh queue). */
  readonly plan?: () => Promise<RefreshPlanSummary>;
}

/** The refresh queue on SQS; the SQS client is loaded on the first send. */
export function buildSqsRefreshQueue(queueUrl: string): RefreshQueue {
  let sqs: Promise<RefreshQueue> | undefined;
  return {
    send: async (messages) => {
      sqs ??= Promise.all([import('@aws-sdk/client-sqs'), import('./adapters/sqs-batch-dispatcher.js')]).then(
        ([{ SQSClient }, { SqsBatchDispatcher }]) =>
          new SqsBatchDispatcher({ client: new SQSClient({}), queueUrl }),
      );
      await (await sqs).send(messages);
    },
  };
}

/** How the deployed planner plans: the schedule period from the config, the rest the contract's. */
export const refreshPlanSettings = (
  config: RuntimeConfig,
  maxClientsPerMessage: number,
): RefreshPlanSettings => ({
  periodMs: config.refreshHorizonMs,
  marginMs: REFRESH_PLAN_MARGIN_SECONDS * 1000,
  leadMs: REFRESH_DELIVERY_LEAD_MS,
  overdueAfterMs: REFRESH_OVERDUE_AFTER_SECONDS * 1000,
  reconcileEveryMs: REFRESH_RECONCILE_MINUTES * 60_000,
  maxClientsPerMessage,
});

/** The refresher's runtime: the vendor on AWS, and the planner when the config names a refresh queue. */
export function createAwsRuntime(config: RuntimeConfig, telemetry: CoreTelemetry): AwsRuntime {
  // The refresher writes at once: the SDK's client for the store and the index alike.
  const dynamo = new DynamoDBClient(FAST_SDK);
  const store = new DynamoTokenStore({ client: dynamo, tableName: config.tableName });
  const { vendor, credentials } = createAwsVendor(config, telemetry, store);
  const { refreshQueue } = config;
  if (!refreshQueue) return { vendor };
  const deps = {
    index: new DynamoRefreshIndex({ client: dynamo, tableName: config.tableName }),
    queue: buildSqsRefreshQueue(refreshQueue.queueUrl),
    credentials,
    clock: systemClock,
    logger: telemetry.logger,
    metrics: telemetry.metrics,
  };
  const settings = refreshPlanSettings(config, refreshQueue.batchSize);
  return { vendor, plan: () => runRefreshPlan(deps, settings) };
}
