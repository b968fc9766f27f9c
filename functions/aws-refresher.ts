/** The refresher on AWS: the vendor ({@link createAwsVendor}) and, when configured, its fan-out over SQS. */

import { createAwsVendor } from './aws-vendor.js';
import type { RuntimeConfig } from './config.js';
import type { CredentialsSource, RegisteredClient } from './core/ports.js';
import type { TokenVendor } from './core/token-vendor-api.js';
import type { CoreTelemetry } from './telemetry.js';

/** Fan-out: the scheduled run splits the clients into batches and queues them for worker invocations. */
export interface RefreshFanOut {
  /** Above this many clients the scheduled run queues batches instead of sweeping itself. @default 500 */
  readonly thresholdClients: number;
  /** Clients per batch (pool members are never split). @default 100 */
  readonly batchSize: number;
  readonly listClients: () => Promise<RegisteredClient[]>;
  readonly dispatch: (batches: ReadonlyArray<readonly RegisteredClient[]>) => Promise<void>;
}

/** What the refresh handler runs on: the vendor, plus the fan-out when configured. */
export interface AwsRuntime {
  readonly vendor: TokenVendor;
  readonly fanOut?: RefreshFanOut;
}

/**
 * The fan-out over SQS: batches go to `queueUrl`, clients are listed from `credentials`. The SQS client is
 * loaded only when a scheduled run queues batches.
 */
export function buildSqsFanOut(
  fanOut: NonNullable<RuntimeConfig['fanOut']>,
  credentials: CredentialsSource,
): RefreshFanOut {
  return {
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
  };
}

/** The refresher's runtime: the vendor on AWS, and the SQS fan-out when the config names a queue. */
export function createAwsRuntime(config: RuntimeConfig, telemetry: CoreTelemetry): AwsRuntime {
  const { vendor, credentials } = createAwsVendor(config, telemetry);
  return config.fanOut ? { vendor, fanOut: buildSqsFanOut(config.fanOut, credentials) } : { vendor };
}
