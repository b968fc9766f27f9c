/**
 * The Marketo API budget's permit service on AWS: the budget table (or no table: unmetered permits), the
 * per-instance budget on it, and the permit routes' service. Kept apart from the token vendor's recipe
 * (aws-vendor.ts) so the token path does not change with it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoBudgetStore } from './adapters/dynamo-budget-store.js';
import { MemoryBudgetStore } from './adapters/memory-budget-store.js';
import type { BudgetRuntimeConfig } from './config.js';
import { type BudgetStore, createInstanceBudget } from './core/budget/index.js';
import { systemClock } from './core/clock.js';
import type { CredentialsSource } from './core/ports.js';
import { createPermitService, type PermitService } from './http/permit-request.js';
import { coreLogger, coreMetrics, type Telemetry } from './telemetry.js';

/**
 * The budget table, failing fast like the vend path (a slow store must not hold a consumer's Marketo call for
 * long); without a table name, a memory store (the budget is then off and permits are unmetered).
 */
export function buildBudgetStore(tableName: string | undefined): BudgetStore {
  if (tableName === undefined) return new MemoryBudgetStore();
  return new DynamoBudgetStore({
    client: new DynamoDBClient({
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
    }),
    tableName,
  });
}

/** The permit service on DynamoDB (or unmetered when no budget table is configured). */
export function createAwsPermitService(
  config: BudgetRuntimeConfig,
  credentials: CredentialsSource,
  telemetry: Telemetry,
): PermitService {
  const logger = coreLogger(telemetry.logger);
  const budget = createInstanceBudget(
    {
      store: buildBudgetStore(config.tableName),
      clock: systemClock,
      metrics: coreMetrics(telemetry.metrics),
      logger,
    },
    { limits: config.limits, onStoreFailure: config.onStoreFailure },
  );
  return createPermitService({ budget, credentials, logger });
}
