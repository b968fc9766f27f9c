/**
 * The Bulk API slot service on AWS: an item per instance in the budget table (or no table: unmetered slots)
 * and the slot routes' service. Kept apart from the permit service's recipe (aws-permit-service.ts), which
 * it only shares the table with.
 */

import { MemoryBulkSlotStore } from './adapters/memory-bulk-slot-store.js';
import { loadBudgetTableClient } from './budget-table-client.js';
import type { BudgetRuntimeConfig, BulkRuntimeConfig } from './config.js';
import type { UsageRecorder } from './core/budget/index.js';
import { type BulkSlotStore, createBulkSlots, recordBulkUsage } from './core/bulk/index.js';
import { systemClock } from './core/clock.js';
import type { CredentialsSource } from './core/ports.js';
import { type BulkSlotService, createBulkSlotService } from './http/bulk-slot-request.js';
import { coreLogger, coreMetrics, type Telemetry } from './telemetry.js';

/**
 * The slots' items in the budget table, its client loaded on the first slot request (budget-table-client.ts);
 * without a table, a memory store.
 */
export function buildBulkSlotStore(tableName: string | undefined): BulkSlotStore {
  if (tableName === undefined) return new MemoryBulkSlotStore();
  let loaded: Promise<BulkSlotStore> | undefined;
  const store = (): Promise<BulkSlotStore> => {
    loaded ??= Promise.all([loadBudgetTableClient(), import('./adapters/dynamo-bulk-slot-store.js')]).then(
      ([client, { DynamoBulkSlotStore }]) => new DynamoBulkSlotStore({ client, tableName }),
    );
    return loaded;
  };
  return {
    get: async (instance) => (await store()).get(instance),
    save: async (next, expectedVersion, expireItemAtSeconds) =>
      (await store()).save(next, expectedVersion, expireItemAtSeconds),
    async *list() {
      yield* (await store()).list();
    },
  };
}

/**
 * The slot service on DynamoDB (or unmetered when no budget table is configured). `usage`: the permit
 * service's usage recorder, which each counted job end is booked to (its consumer's Bulk jobs and extracted
 * bytes). @default none
 */
export function createAwsBulkSlotService(
  budget: BudgetRuntimeConfig,
  config: BulkRuntimeConfig,
  credentials: CredentialsSource,
  telemetry: Telemetry,
  usage?: UsageRecorder,
): BulkSlotService {
  const logger = coreLogger(telemetry.logger);
  const slots = createBulkSlots(
    {
      store: buildBulkSlotStore(budget.tableName),
      clock: systemClock,
      metrics: coreMetrics(telemetry.metrics),
      logger,
      ...(usage === undefined ? {} : { usage: recordBulkUsage(usage) }),
    },
    { enabled: budget.tableName !== undefined, limits: config.limits, onStoreFailure: budget.onStoreFailure },
  );
  return createBulkSlotService({ slots, credentials, logger });
}
