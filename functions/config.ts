import {
  BUDGET_RECONCILE_SECONDS_RANGE,
  type BulkLimits,
  bulkLimitsOverrideProblem,
  DEFAULT_BUDGET_RECONCILE_SECONDS,
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
  type InstanceLimits,
  LEASE_DURATION_MS_RANGE,
  type LimitsByInstance,
  limitsOverrideProblem,
  MAX_MIN_VALIDITY_SECONDS,
  MAX_WAIT_LIMIT_MS,
  type Range,
  REFRESH_BATCH_SIZE_RANGE,
  REFRESH_CONCURRENCY_RANGE,
  REFRESH_HORIZON_SECONDS_RANGE,
} from './contract/index.js';
import type { BudgetConfig } from './core/budget/index.js';
import type { TokenVendorConfig } from './core/vendor-config.js';

/**
 * Runtime configuration of the Lambda handlers, read once from the environment: the token vendor's
 * ({@link readRuntimeConfig}) and the Marketo API budget's ({@link readBudgetConfig}).
 */
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

/** The budget's part of the runtime configuration. */
export interface BudgetRuntimeConfig {
  /** Unset: no budget table, permits are handed out unmetered (the budget is off). */
  readonly tableName?: string;
  readonly limits: BudgetConfig['limits'];
  readonly onStoreFailure: BudgetConfig['onStoreFailure'];
  /** A vend function reconciles an instance with Marketo's usage.json this often (after serving it as long). */
  readonly reconcileIntervalMs: number;
}

/** Reads and validates the budget's environment; fails fast naming the bad variable. */
export function readBudgetConfig(env: Env = process.env): BudgetRuntimeConfig {
  const tableName = env[ENV.budgetTableName] || undefined;
  const failure = env[ENV.budgetOnStoreFailure] || 'open';
  if (failure !== 'open' && failure !== 'closed') {
    throw new ConfigurationError(
      `${ENV.budgetOnStoreFailure} must be "open" or "closed", got "${failure.slice(0, 40)}"`,
    );
  }
  const limits = readLimitsByInstance<InstanceLimits>(env, ENV.budgetLimits, limitsOverrideProblem);
  const off = tableName === undefined ? { default: { ...limits.default, enabled: false } } : {};
  const reconcileSeconds = integer(
    env,
    ENV.budgetReconcileSeconds,
    DEFAULT_BUDGET_RECONCILE_SECONDS,
    BUDGET_RECONCILE_SECONDS_RANGE,
  );
  return {
    ...(tableName === undefined ? {} : { tableName }),
    limits: { ...limits, ...off },
    onStoreFailure: failure,
    reconcileIntervalMs: reconcileSeconds * 1000,
  };
}

/**
 * Limits per instance from a JSON variable (`{"default": {…}, "<rest host>": {…}}`), each override checked
 * by `problemOf`; fails fast naming the variable and the instance.
 */
function readLimitsByInstance<L>(
  env: Env,
  name: string,
  problemOf: (override: Partial<Record<keyof L, unknown>>) => string | undefined,
): Record<string, Partial<L>> {
  const limits: Record<string, Partial<L>> = {};
  const raw = env[name];
  if (!raw) return limits;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigurationError(`${name} must be JSON like {"default": {"reservedShare": 0.2}}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError(`${name} must be a JSON object keyed by instance host or "default"`);
  }
  for (const [instance, override] of Object.entries(parsed)) {
    const problem =
      typeof override !== 'object' || override === null
        ? 'invalid'
        : problemOf(override as Partial<Record<keyof L, unknown>>);
    if (problem !== undefined) {
      throw new ConfigurationError(`${name} for "${instance.slice(0, 80)}": ${problem}`);
    }
    limits[instance.toLowerCase()] = override as Partial<L>;
  }
  return limits;
}

/** The Bulk API slots' part of the runtime configuration (their table is the budget's). */
export interface BulkRuntimeConfig {
  readonly limits: LimitsByInstance<BulkLimits>;
}

/** Reads and validates `BULK_LIMITS`; fails fast naming the variable and the instance. */
export function readBulkConfig(env: Env = process.env): BulkRuntimeConfig {
  return { limits: readLimitsByInstance<BulkLimits>(env, ENV.bulkLimits, bulkLimitsOverrideProblem) };
}
