/**
 * The token vendor on AWS: DynamoDB, Secrets Manager and Marketo over HTTPS, built from the runtime config.
 * A recipe of named builders (the Solutions Constructs' `buildLambdaFunction` style), each usable alone.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { lazyCredentials } from './adapters/lazy-credentials.js';
import { LightReadTokenStore } from './adapters/light-read-token-store.js';
import { environmentCredentials, SignedGetItem } from './adapters/signed-get-item.js';
import type { RuntimeConfig } from './config.js';
import type { CredentialsSource, TokenStore } from './core/ports.js';
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

/** The token table on the SDK's DynamoDB client (loaded when called): the lease, token and index writes. */
export async function loadSdkTokenStore(tableName: string, client?: DynamoDBClient): Promise<TokenStore> {
  const [{ DynamoDBClient }, { DynamoTokenStore }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('./adapters/dynamo-token-store.js'),
  ]);
  return new DynamoTokenStore({ client: client ?? new DynamoDBClient(FAST_SDK), tableName });
}

/**
 * The vend function's token table: the hit path's one read is a signed GetItem (functions/adapters/
 * signed-get-item.ts) on the role's credentials from the environment; the SDK's client is loaded on the
 * first write only. Without credentials in the environment (not in Lambda), reads go through the SDK too.
 */
export function buildVendTokenStore(
  tableName: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): TokenStore {
  const writer = () => loadSdkTokenStore(tableName);
  const credentials = environmentCredentials(env);
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!credentials || !region) return new LightReadTokenStore(undefined, writer);
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL;
  return new LightReadTokenStore(
    new SignedGetItem({ tableName, region, credentials, ...(endpoint ? { endpoint } : {}) }),
    writer,
  );
}

/**
 * The token engine on DynamoDB, Secrets Manager and Marketo, and the credentials source it reads (the permit
 * service and the refresher's planner list clients through it too). The vend function's store loads no SDK
 * client until it writes ({@link buildVendTokenStore}); the refresher passes the table's store itself.
 */
export function createAwsVendor(
  config: RuntimeConfig,
  telemetry: CoreTelemetry,
  store: TokenStore = buildVendTokenStore(config.tableName),
): { vendor: TokenVendor; credentials: CredentialsSource } {
  const credentials = buildSecretsManagerCredentials(config.secretPrefix);
  const vendor = wireVendor({ store, credentials, telemetry, config: config.vendor });
  return { vendor, credentials };
}
