import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoTokenStore } from './adapters/dynamo-token-store.js';
import { HttpIdentityClient } from './adapters/http-identity-client.js';
import { lazyCredentials } from './adapters/lazy-credentials.js';
import type { RuntimeConfig } from './config.js';
import type { Logger, MetricsSink } from './core/ports.js';
import { createTokenVendor } from './core/token-vendor.js';
import type { TokenVendor } from './core/vendor.js';

/** SDK settings for the vend path: fail fast (the core degrades or answers 503) rather than hang. */
const FAST_SDK = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
} as const;

/** Builds the token engine on DynamoDB, Secrets Manager and Marketo over HTTPS, from runtime config. */
export function createAwsVendor(
  config: RuntimeConfig,
  telemetry: { logger: Logger; metrics: MetricsSink },
): TokenVendor {
  const store = new DynamoTokenStore({ client: new DynamoDBClient(FAST_SDK), tableName: config.tableName });
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
  return createTokenVendor(
    {
      store,
      credentials,
      identity: new HttpIdentityClient(),
      logger: telemetry.logger,
      metrics: telemetry.metrics,
    },
    config.vendor,
  );
}
