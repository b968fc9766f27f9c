/**
 * The Marketo API budget in the Lambda: configuration from the environment and the permit service on the
 * budget table. Kept apart from the token engine's wiring so the token path does not change with it.
 */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoBudgetStore } from './adapters/dynamo-budget-store.js';
import { marketoUsageReaders } from './adapters/http-marketo-usage.js';
import { MemoryBudgetStore } from './adapters/memory-budget-store.js';
import { ConfigurationError } from './config.js';
import { ENV } from './contract/index.js';
import type { BudgetConfig, BudgetMetrics, InstanceLimits } from './core/budget/index.js';
import { createInstanceBudget, resolveLimits } from './core/budget/index.js';
import { systemClock } from './core/clock.js';
import type { IdentityUrlPolicy } from './core/credentials.js';
import { isTokenVendorError } from './core/errors.js';
import type { CredentialsSource } from './core/ports.js';
import type { TokenVendor } from './core/token-vendor-api.js';
import { createPermitService, type PermitService } from './http/permit-request.js';
import { coreLogger, type Telemetry } from './telemetry.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The budget's part of the runtime configuration. */
export interface BudgetRuntimeConfig {
  /** Unset: no budget table, permits are handed out unmetered (the budget is off). */
  readonly tableName?: string;
  readonly limits: BudgetConfig['limits'];
  readonly onStoreFailure: BudgetConfig['onStoreFailure'];
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
  const limits: Record<string, Partial<InstanceLimits>> = {};
  const raw = env[ENV.budgetLimits];
  if (raw) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new ConfigurationError(
        `${ENV.budgetLimits} must be JSON like {"default": {"reservedShare": 0.2}}`,
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigurationError(
        `${ENV.budgetLimits} must be a JSON object keyed by instance host or "default"`,
      );
    }
    for (const [instance, override] of Object.entries(parsed)) {
      try {
        resolveLimits(override as Partial<InstanceLimits>);
      } catch (error) {
        const reason = isTokenVendorError(error) ? error.message : 'invalid';
        throw new ConfigurationError(`${ENV.budgetLimits} for "${instance.slice(0, 80)}": ${reason}`);
      }
      limits[instance.toLowerCase()] = override as Partial<InstanceLimits>;
    }
  }
  const off = tableName === undefined ? { default: { ...limits.default, enabled: false } } : {};
  return {
    ...(tableName === undefined ? {} : { tableName }),
    limits: { ...limits, ...off },
    onStoreFailure: failure,
  };
}

/** Powertools Metrics as the budget's metrics port. */
export const budgetMetrics = (telemetry: Telemetry): BudgetMetrics => ({
  record: (name, value, unit) => telemetry.metrics.addMetric(name, MetricUnit[unit], value),
});

/**
 * The permit service on DynamoDB (or unmetered when no budget table is configured). With `marketo` (the
 * token engine and the host allowlist), the vendor asks Marketo's usage.json itself: a reported 607 is
 * confirmed before it closes an instance's day, and the daily count is reconciled.
 */
export function createAwsPermitService(
  config: BudgetRuntimeConfig,
  credentials: CredentialsSource,
  telemetry: Telemetry,
  marketo?: { readonly vendor: TokenVendor; readonly urlPolicy: IdentityUrlPolicy },
): PermitService {
  const store =
    config.tableName === undefined
      ? new MemoryBudgetStore()
      : new DynamoBudgetStore({
          // Fail fast like the vend path: a slow store must not hold a consumer's Marketo call for long.
          client: new DynamoDBClient({
            maxAttempts: 2,
            requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
          }),
          tableName: config.tableName,
        });
  const logger = coreLogger(telemetry.logger);
  const budget = createInstanceBudget(
    { store, clock: systemClock, metrics: budgetMetrics(telemetry), logger },
    { limits: config.limits, onStoreFailure: config.onStoreFailure },
  );
  return createPermitService({
    budget,
    credentials,
    logger,
    ...(marketo === undefined ? {} : { usageReader: marketoUsageReaders({ ...marketo, credentials }) }),
  });
}
