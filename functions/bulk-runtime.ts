/**
 * Bulk API slots in the Lambda: limits from the environment and the slot service on the budget table (an
 * item per instance beside the budget's own). Kept apart from the budget's wiring, which it only reads.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoBulkSlotStore } from './adapters/dynamo-bulk-slot-store.js';
import { MemoryBulkSlotStore } from './adapters/memory-bulk-slot-store.js';
import type { BudgetRuntimeConfig } from './budget-runtime.js';
import { ConfigurationError } from './config.js';
import { ENV } from './contract/index.js';
import type { BulkLimits, BulkMetrics, BulkSlotsConfig, BulkUsageSink } from './core/bulk/index.js';
import { createBulkSlots, resolveBulkLimits } from './core/bulk/index.js';
import { systemClock } from './core/clock.js';
import { isTokenVendorError } from './core/errors.js';
import type { CredentialsSource } from './core/ports.js';
import { type BulkSlotService, createBulkSlotService } from './http/bulk-slot-request.js';
import { coreLogger, type Telemetry } from './telemetry.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The slots' part of the runtime configuration. */
export interface BulkRuntimeConfig {
  readonly limits: BulkSlotsConfig['limits'];
}

/** Reads and validates `BULK_LIMITS`; fails fast naming the variable and the instance. */
export function readBulkConfig(env: Env = process.env): BulkRuntimeConfig {
  const raw = env[ENV.bulkLimits];
  if (!raw) return { limits: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigurationError(`${ENV.bulkLimits} must be JSON like {"default": {"reservedShare": 0.2}}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError(
      `${ENV.bulkLimits} must be a JSON object keyed by instance host or "default"`,
    );
  }
  const limits: Record<string, Partial<BulkLimits>> = {};
  for (const [instance, override] of Object.entries(parsed)) {
    try {
      resolveBulkLimits(override as Partial<BulkLimits>);
    } catch (error) {
      const reason = isTokenVendorError(error) ? error.message : 'invalid';
      throw new ConfigurationError(`${ENV.bulkLimits} for "${instance.slice(0, 80)}": ${reason}`);
    }
    limits[instance.toLowerCase()] = override as Partial<BulkLimits>;
  }
  return { limits };
}

/** Powertools Metrics as the slots' metrics port. */
export const bulkMetrics = (telemetry: Telemetry): BulkMetrics => ({
  record: (name, value, unit) => telemetry.metrics.addMetric(name, MetricUnit[unit], value),
});

/**
 * The slot service on the budget table (or unmetered when no budget table is configured). `usage`: where
 * each job's end is recorded per consumer (issue 27's per-consumer usage).
 */
export function createAwsBulkSlotService(
  budget: Pick<BudgetRuntimeConfig, 'tableName' | 'onStoreFailure'>,
  config: BulkRuntimeConfig,
  credentials: CredentialsSource,
  telemetry: Telemetry,
  usage?: BulkUsageSink,
): BulkSlotService {
  const store =
    budget.tableName === undefined
      ? new MemoryBulkSlotStore()
      : new DynamoBulkSlotStore({
          // Fail fast like the permit path.
          client: new DynamoDBClient({
            maxAttempts: 2,
            requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
          }),
          tableName: budget.tableName,
        });
  const logger = coreLogger(telemetry.logger);
  const slots = createBulkSlots(
    {
      store,
      clock: systemClock,
      metrics: bulkMetrics(telemetry),
      logger,
      ...(usage === undefined ? {} : { usage }),
    },
    {
      enabled: budget.tableName !== undefined,
      limits: config.limits,
      onStoreFailure: budget.onStoreFailure,
    },
  );
  return createBulkSlotService({ slots, credentials, logger });
}
