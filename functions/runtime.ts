import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoRefreshIndex } from './adapters/dynamo-refresh-index.js';
import { lazyCredentials } from './adapters/lazy-credentials.js';
import type { RuntimeConfig } from './config.js';
import {
  REFRESH_DELIVERY_LEAD_MS,
  REFRESH_OVERDUE_AFTER_SECONDS,
  REFRESH_PLAN_MARGIN_SECONDS,
  REFRESH_RECONCILE_MINUTES,
} from './contract/index.js';
import { systemClock } from './core/clock.js';
import type { CredentialsSource, RefreshQueue } from './core/ports.js';
import { type RefreshPlanSettings, type RefreshPlanSummary, runRefreshPlan } from './core/refresh-planner.js';
import type { TokenVendor } from './core/token-vendor-api.js';
import type { CoreTelemetry } from './telemetry.js';
import { wireVendor } from './wiring.js';

/** SDK settings for the vend path: fail fast (the core degrades or answers 503) rather than hang. */
const FAST_SDK = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
} as const;

/** The engine on DynamoDB, Secrets Manager and Marketo over HTTPS, plus the refresher's planner when configured. */
export interface AwsRuntime {
  readonly vendor: TokenVendor;
  /** One scheduled run of the refresh planner (absent without a refresh queue). */
  readonly plan?: () => Promise<RefreshPlanSummary>;
}

/**
 * Builds the token engine on DynamoDB, Secrets Manager and Marketo from config. The Secrets Manager client is
 * loaded on first use only: the vend hot path (a cached token) never needs it, so it stays off the cold start.
 * The vend handler calls this directly, so nothing of the refresher's fan-out (the SQS client) is bundled
 * into the vend function: esbuild drops {@link createAwsRuntime} there as unused.
 */
export function createAwsVendor(
  config: RuntimeConfig,
  telemetry: CoreTelemetry,
): { vendor: TokenVendor; credentials: CredentialsSource; dynamo: DynamoDBClient } {
  const credentials = lazyCredentials(async () => {
    const [{ SecretsManagerClient }, { SecretsManagerCredentials }] = await Promise.all([
      import('@aws-sdk/client-secrets-manager'),
      import('./adapters/secrets-manager-credentials.js'),
    ]);
    return new SecretsManagerCredentials({
      client: new SecretsManagerClient(FAST_SDK),
      prefix: config.secretPrefix,
    });
  });
  const dynamo = new DynamoDBClient(FAST_SDK);
  const vendor = wireVendor({
    store: { dynamo, tableName: config.tableName },
    credentials,
    telemetry,
    config: config.vendor,
  });
  return { vendor, credentials, dynamo };
}

/**
 * Builds the refresher's runtime: the engine ({@link createAwsVendor}) plus, when a refresh queue is
 * configured, the planner of scheduled runs (the refresh index on the token table, the queue on SQS, whose
 * client is loaded on a run's first send).
 */
export function createAwsRuntime(config: RuntimeConfig, telemetry: CoreTelemetry): AwsRuntime {
  const { vendor, credentials, dynamo } = createAwsVendor(config, telemetry);
  const { refreshQueue } = config;
  if (!refreshQueue) return { vendor };
  const index = new DynamoRefreshIndex({ client: dynamo, tableName: config.tableName });
  let sqs: Promise<RefreshQueue> | undefined;
  const queue: RefreshQueue = {
    send: async (messages) => {
      sqs ??= Promise.all([import('@aws-sdk/client-sqs'), import('./adapters/sqs-batch-dispatcher.js')]).then(
        ([{ SQSClient }, { SqsBatchDispatcher }]) =>
          new SqsBatchDispatcher({ client: new SQSClient({}), queueUrl: refreshQueue.queueUrl }),
      );
      await (await sqs).send(messages);
    },
  };
  const settings: RefreshPlanSettings = {
    periodMs: config.refreshHorizonMs,
    marginMs: REFRESH_PLAN_MARGIN_SECONDS * 1000,
    leadMs: REFRESH_DELIVERY_LEAD_MS,
    overdueAfterMs: REFRESH_OVERDUE_AFTER_SECONDS * 1000,
    reconcileEveryMs: REFRESH_RECONCILE_MINUTES * 60_000,
    maxClientsPerMessage: refreshQueue.batchSize,
  };
  return {
    vendor,
    plan: () =>
      runRefreshPlan(
        {
          index,
          queue,
          credentials,
          clock: systemClock,
          logger: telemetry.logger,
          metrics: telemetry.metrics,
        },
        settings,
      ),
  };
}
