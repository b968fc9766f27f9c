import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { lazyCredentials } from './adapters/lazy-credentials.js';
import type { RuntimeConfig } from './config.js';
import type { CredentialsSource, RegisteredClient } from './core/ports.js';
import type { TokenVendor } from './core/token-vendor-api.js';
import type { CoreTelemetry } from './telemetry.js';
import { wireVendor } from './wire-vendor.js';

/** SDK settings for the vend path: fail fast (the core degrades or answers 503) rather than hang. */
const FAST_SDK = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
} as const;

/** Fan-out: the scheduled run splits the clients into batches and queues them for worker invocations. */
export interface RefreshFanOut {
  /** Above this many clients the scheduled run queues batches instead of sweeping itself. @default 500 */
  readonly thresholdClients: number;
  /** Clients per batch (pool members are never split). @default 100 */
  readonly batchSize: number;
  readonly listClients: () => Promise<RegisteredClient[]>;
  readonly dispatch: (batches: ReadonlyArray<readonly RegisteredClient[]>) => Promise<void>;
}

/** The engine on DynamoDB, Secrets Manager and Marketo over HTTPS, plus the refresher's fan-out when configured. */
export interface AwsRuntime {
  readonly vendor: TokenVendor;
  readonly fanOut?: RefreshFanOut;
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
): { vendor: TokenVendor; credentials: CredentialsSource } {
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
  const vendor = wireVendor({
    store: { dynamo: new DynamoDBClient(FAST_SDK), tableName: config.tableName },
    credentials,
    telemetry,
    config: config.vendor,
  });
  return { vendor, credentials };
}

/**
 * Builds the refresher's runtime: the engine ({@link createAwsVendor}) plus, when configured, the fan-out over
 * SQS, whose client is loaded only when a scheduled run queues batches.
 */
export function createAwsRuntime(config: RuntimeConfig, telemetry: CoreTelemetry): AwsRuntime {
  const { vendor, credentials } = createAwsVendor(config, telemetry);
  const { fanOut } = config;
  if (!fanOut) return { vendor };
  return {
    vendor,
    fanOut: {
      thresholdClients: fanOut.thresholdClients,
      batchSize: fanOut.batchSize,
      listClients: () => credentials.list(),
      dispatch: async (batches) => {
        const [{ SQSClient }, { SqsBatchDispatcher }] = await Promise.all([
          import('@aws-sdk/client-sqs'),
          import('./adapters/sqs-batch-dispatcher.js'),
        ]);
        await new SqsBatchDispatcher({ client: new SQSClient({}), queueUrl: fanOut.queueUrl }).dispatch(
          batches,
        );
      },
    },
  };
}
