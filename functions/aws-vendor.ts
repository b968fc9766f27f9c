/**
 * The token vendor on AWS: DynamoDB, Secrets Manager and Marketo over HTTPS, built from the runtime config.
 * A recipe of named builders (the Solutions Constructs' `buildLambdaFunction` style), each usable alone.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { lazyCredentials } from './adapters/lazy-credentials.js';
import type { RuntimeConfig } from './config.js';
import type { CredentialsSource } from './core/ports.js';
import type { TokenVendor } from './core/token-vendor-api.js';
import type { CoreTelemetry } from './telemetry.js';
import { wireVendor } from './wire-vendor.js';

/** SDK settings for the vend path: fail fast (the core degrades or answers 503) rather than hang. */
export const FAST_SDK = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
} as const;

/**
 * Credentials from Secrets Manager under `secretPrefix`. The client and the adapter are loaded on first use
 * only: the vend hot path (a cached token) never needs them, so they stay off the cold start.
 */
export function buildSecretsManagerCredentials(secretPrefix: string): CredentialsSource {
  return lazyCredentials(async () => {
    const [{ SecretsManagerClient }, { SecretsManagerCredentials }] = await Promise.all([
      import('@aws-sdk/client-secrets-manager'),
      import('./adapters/secrets-manager-credentials.js'),
    ]);
    return new SecretsManagerCredentials({
      client: new SecretsManagerClient(FAST_SDK),
      prefix: secretPrefix,
    });
  });
}

/**
 * The token engine on DynamoDB, Secrets Manager and Marketo, and the credentials source it reads (the permit
 * service and the refresher's planner list clients through it too). The vend handler calls this directly, so
 * nothing of the refresher's planner (the SQS client, the index) is bundled into the vend function.
 */
export function createAwsVendor(
  config: RuntimeConfig,
  telemetry: CoreTelemetry,
): { vendor: TokenVendor; credentials: CredentialsSource; dynamo: DynamoDBClient } {
  const credentials = buildSecretsManagerCredentials(config.secretPrefix);
  const dynamo = new DynamoDBClient(FAST_SDK);
  const vendor = wireVendor({
    store: { dynamo, tableName: config.tableName },
    credentials,
    telemetry,
    config: config.vendor,
  });
  // The refresher's planner reads the refresh index on the same client.
  return { vendor, credentials, dynamo };
}
