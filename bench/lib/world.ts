/**
 * The benchmarks' loopback world: the tests' world (testing/world.ts) with the production engine settings
 * and the Lambdas' SDK retries, so a figure measures what a deployment would run.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { FAST_SDK } from '../../functions/aws-vendor.js';
import type { TokenVendorConfig } from '../../functions/core/vendor-config.js';
import {
  LOOPBACK_IDENTITY,
  loopbackClients as loopbackSdkClients,
  startWorld,
  type World,
  type WorldOptions,
} from '../../testing/world.js';

/**
 * Engine configuration of the benchmarks: the production defaults (lease poll 100 ms, expiry slack
 * 2.5 s, rotation guard 5 s), except that Identity may be reached over http on loopback.
 */
export const BENCH_VENDOR_CONFIG: Partial<TokenVendorConfig> = LOOPBACK_IDENTITY;

/** SDK clients for loopback as the Lambdas configure them (2 attempts), with a large socket pool. */
export function loopbackClients(
  endpoints: { readonly dynamo: string; readonly secrets: string },
  maxSockets = 256,
): { dynamo: DynamoDBClient; secrets: SecretsManagerClient } {
  return loopbackSdkClients(endpoints, { maxAttempts: FAST_SDK.maxAttempts, maxSockets });
}

/** Options of {@link startBenchWorld}. */
export type BenchWorldOptions = Pick<
  WorldOptions,
  'lifespanSeconds' | 'identityLatencyMs' | 'listPageSize' | 'speed'
>;

/** A running loopback world. */
export type BenchWorld = World;

/** Starts the world with the production engine settings and the Lambdas' SDK retries. */
export function startBenchWorld(options: BenchWorldOptions = {}): Promise<BenchWorld> {
  return startWorld({
    ...options,
    vendorDefaults: BENCH_VENDOR_CONFIG,
    sdkMaxAttempts: FAST_SDK.maxAttempts,
  });
}
