import {
  DEFAULT_IDENTITY_HOSTS,
  DEFAULT_IDENTITY_TIMEOUT_MS,
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_MIN_VALIDITY_SECONDS,
  DEFAULT_REFRESH_BATCH_SIZE,
  DEFAULT_REFRESH_CONCURRENCY,
  DEFAULT_REFRESH_HORIZON_SECONDS,
  DEFAULT_SECRET_PREFIX,
  ENV,
  IDENTITY_TIMEOUT_MS_RANGE,
  LEASE_DURATION_MS_RANGE,
  MAX_MIN_VALIDITY_SECONDS,
  MAX_WAIT_LIMIT_MS,
  type Range,
  REFRESH_BATCH_SIZE_RANGE,
  REFRESH_CONCURRENCY_RANGE,
  REFRESH_HORIZON_SECONDS_RANGE,
} from './contract/index.js';
import type { TokenVendorConfig } from './core/token-vendor-api.js';

/** Runtime configuration of the Lambda handlers, read once from the environment. */
export interface RuntimeConfig {
  readonly tableName: string;
  readonly secretPrefix: string;
  readonly maxWaitMs: number;
  readonly refreshHorizonMs: number;
  readonly refreshConcurrency: number;
  /** The refresher's queue of due refreshes (SQS); absent when REFRESH_QUEUE_URL is not set. */
  readonly refreshQueue?: {
    readonly queueUrl: string;
    /** Most clients in one message. */
    readonly batchSize: number;
  };
  readonly vendor: Partial<TokenVendorConfig>;
}

/** Thrown at cold start when the environment is unusable: the message names the variable. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

type Env = Readonly<Record<string, string | undefined>>;

const integer = (env: Env, name: string, fallback: number, { min, max }: Range): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
};

/** Reads and validates the handlers' environment; fails fast naming the bad variable. */
export function readRuntimeConfig(env: Env = process.env): RuntimeConfig {
  const tableName = env[ENV.tableName];
  if (!tableName) throw new ConfigurationError(`${ENV.tableName} must be set to the token table name`);
  const allowedHosts = (env[ENV.identityAllowedHosts] ?? DEFAULT_IDENTITY_HOSTS.join(','))
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h.length > 0);
  if (allowedHosts.length === 0)
    throw new ConfigurationError(`${ENV.identityAllowedHosts} must name at least one host`);
  const maxWaitMs = integer(env, ENV.maxWaitMs, DEFAULT_MAX_WAIT_MS, { min: 0, max: MAX_WAIT_LIMIT_MS });
  const queueUrl = env[ENV.refreshQueueUrl];
  return {
    tableName,
    secretPrefix: env[ENV.secretPrefix] ?? DEFAULT_SECRET_PREFIX,
    maxWaitMs,
    refreshHorizonMs:
      integer(
        env,
        ENV.refreshHorizonSeconds,
        DEFAULT_REFRESH_HORIZON_SECONDS,
        REFRESH_HORIZON_SECONDS_RANGE,
      ) * 1000,
    refreshConcurrency: integer(
      env,
      ENV.refreshConcurrency,
      DEFAULT_REFRESH_CONCURRENCY,
      REFRESH_CONCURRENCY_RANGE,
    ),
    ...(queueUrl
      ? {
          refreshQueue: {
            queueUrl,
            batchSize: integer(
              env,
              ENV.refreshBatchSize,
              DEFAULT_REFRESH_BATCH_SIZE,
              REFRESH_BATCH_SIZE_RANGE,
            ),
          },
        }
      : {}),
    vendor: {
      defaultMinValiditySeconds: integer(env, ENV.defaultMinValiditySeconds, DEFAULT_MIN_VALIDITY_SECONDS, {
        min: 0,
        max: MAX_MIN_VALIDITY_SECONDS,
      }),
      defaultMaxWaitMs: maxWaitMs,
      leaseDurationMs: integer(env, ENV.leaseDurationMs, DEFAULT_LEASE_DURATION_MS, LEASE_DURATION_MS_RANGE),
      identityTimeoutMs: integer(
        env,
        ENV.identityTimeoutMs,
        DEFAULT_IDENTITY_TIMEOUT_MS,
        IDENTITY_TIMEOUT_MS_RANGE,
      ),
      identityUrlPolicy: {
        allowedHosts,
        allowInsecureLoopback: env[ENV.identityAllowInsecureLoopback] === 'true',
      },
    },
  };
}
