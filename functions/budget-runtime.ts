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
import type {
  BudgetConfig,
  BudgetMetrics,
  ConsumerUsage,
  InstanceLimits,
  UsageStore,
} from './core/budget/index.js';
import {
  createInstanceBudget,
  createUsageRecorder,
  instanceKeyOf,
  resolveLimits,
} from './core/budget/index.js';
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
 * Per-consumer metrics, written with each usage write: `ConsumerCalls` (Sum) with the dimensions `Consumer`
 * (the principal's resource part, sessions folded: `assumed-role/nightly-sync`) and `Client` (`c:<clientId>`
 * or `p:<instance>`). Both are bounded sets: consumers are the principals a grant names (wildcards are
 * refused at synthesis), clients the registered ones (docs/operations.md, "Usage per consumer").
 */
export const consumerMetrics =
  (telemetry: Telemetry) =>
  (_instance: string, rows: readonly ConsumerUsage[]): void => {
    for (const row of rows) {
      if (row.counts.calls === 0) continue;
      const single = telemetry.metrics.singleMetric();
      single.addDimension('Consumer', row.consumer.slice(row.consumer.lastIndexOf(':') + 1).slice(0, 250));
      single.addDimension('Client', row.client.slice(0, 250));
      single.addMetric('ConsumerCalls', MetricUnit.Count, row.counts.calls);
    }
  };

/** The usage recorder of a vend function or local mode: usage rows on `store`, instances from `credentials`. */
export const buildUsageRecorder = (store: UsageStore, credentials: CredentialsSource, telemetry: Telemetry) =>
  createUsageRecorder({
    store,
    clock: systemClock,
    logger: coreLogger(telemetry.logger),
    instanceOfClient: async (clientId) => instanceKeyOf(await credentials.get(clientId)),
    onWrite: consumerMetrics(telemetry),
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
  // Fail fast like the vend path: a slow store must not hold a consumer's Marketo call for long.
  const client = new DynamoDBClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  const { tableName } = config;
  const store =
    tableName === undefined ? new MemoryBudgetStore() : new DynamoBudgetStore({ client, tableName });
  const logger = coreLogger(telemetry.logger);
  const budget = createInstanceBudget(
    { store, clock: systemClock, metrics: budgetMetrics(telemetry), logger },
    { limits: config.limits, onStoreFailure: config.onStoreFailure },
  );
  return createPermitService({
    budget,
    credentials,
    logger,
    usage: buildUsageRecorder(store, credentials, telemetry),
    ...(marketo === undefined ? {} : { usageReader: marketoUsageReaders({ ...marketo, credentials }) }),
  });
}
