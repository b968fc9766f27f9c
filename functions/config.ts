import type { TokenVendorConfig } from './core/vendor.js';

/** Runtime configuration of the Lambda handlers, read once from the environment. */
export interface RuntimeConfig {
  readonly tableName: string;
  readonly secretPrefix: string;
  readonly maxWaitMs: number;
  readonly refreshHorizonMs: number;
  readonly refreshConcurrency: number;
  /** Refresher fan-out over SQS; absent when REFRESH_QUEUE_URL is not set. */
  readonly fanOut?: {
    readonly queueUrl: string;
    readonly thresholdClients: number;
    readonly batchSize: number;
  };
  readonly vendor: Partial<TokenVendorConfig>;
}

/** Thrown at cold start when the environment is unusable: the message names the variable. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

type Env = Readonly<Record<string, string | undefined>>;

const integer = (env: Env, name: string, fallback: number, min: number, max: number): number => {
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
  const tableName = env.TABLE_NAME;
  if (!tableName) throw new ConfigurationError('TABLE_NAME must be set to the token table name');
  const allowedHosts = (env.IDENTITY_ALLOWED_HOSTS ?? '*.mktorest.com')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h.length > 0);
  if (allowedHosts.length === 0)
    throw new ConfigurationError('IDENTITY_ALLOWED_HOSTS must name at least one host');
  const maxWaitMs = integer(env, 'MAX_WAIT_MS', 25_000, 0, 900_000);
  return {
    tableName,
    secretPrefix: env.SECRET_PREFIX ?? 'marketo-token-vendor/clients/',
    maxWaitMs,
    refreshHorizonMs: integer(env, 'REFRESH_HORIZON_SECONDS', 60, 0, 840) * 1000,
    refreshConcurrency: integer(env, 'REFRESH_CONCURRENCY', 8, 1, 100),
    ...(env.REFRESH_QUEUE_URL
      ? {
          fanOut: {
            queueUrl: env.REFRESH_QUEUE_URL,
            thresholdClients: integer(env, 'REFRESH_FANOUT_THRESHOLD', 500, 0, 100_000),
            batchSize: integer(env, 'REFRESH_BATCH_SIZE', 100, 1, 1_000),
          },
        }
      : {}),
    vendor: {
      defaultMinValiditySeconds: integer(env, 'DEFAULT_MIN_VALIDITY_SECONDS', 20, 0, 3500),
      defaultMaxWaitMs: maxWaitMs,
      leaseDurationMs: integer(env, 'LEASE_DURATION_MS', 15_000, 1_000, 300_000),
      identityTimeoutMs: integer(env, 'IDENTITY_TIMEOUT_MS', 5_000, 100, 60_000),
      identityUrlPolicy: {
        allowedHosts,
        allowInsecureLoopback: env.IDENTITY_ALLOW_INSECURE_LOOPBACK === 'true',
      },
    },
  };
}
