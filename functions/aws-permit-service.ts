/**
 * The Marketo API budget's permit service on AWS: the budget table (or no table: unmetered permits), the
 * per-instance budget on it, and the permit routes' service. Kept apart from the token vendor's recipe
 * (aws-vendor.ts) so the token path does not change with it.
 */
import { marketoUsageReaders } from './adapters/http-marketo-usage.js';
import { MemoryBudgetStore } from './adapters/memory-budget-store.js';
import { loadBudgetTableClient } from './budget-table-client.js';
import type { BudgetRuntimeConfig } from './config.js';
import { buildUsageRecorder } from './consumer-usage.js';
import { type BudgetStore, createInstanceBudget, type UsageStore } from './core/budget/index.js';
import { systemClock } from './core/clock.js';
import type { IdentityUrlPolicy } from './core/identity-url-policy.js';
import type { CredentialsSource } from './core/ports.js';
import type { TokenVendor } from './core/token-vendor-api.js';
import { createPermitService, type PermitService } from './http/permit-request.js';
import { coreLogger, coreMetrics, type Telemetry } from './telemetry.js';

/**
 * The budget table, its client loaded on the first permit request (budget-table-client.ts); without a table
 * name, a memory store (the budget is then off and permits are unmetered).
 */
export function buildBudgetStore(tableName: string | undefined): BudgetStore & UsageStore {
  if (tableName === undefined) return new MemoryBudgetStore();
  let loaded: Promise<BudgetStore & UsageStore> | undefined;
  const store = (): Promise<BudgetStore & UsageStore> => {
    loaded ??= Promise.all([loadBudgetTableClient(), import('./adapters/dynamo-budget-store.js')]).then(
      ([client, { DynamoBudgetStore }]) => new DynamoBudgetStore({ client, tableName }),
    );
    return loaded;
  };
  return {
    get: async (instance) => (await store()).get(instance),
    save: async (next, expectedVersion, expireItemAtSeconds) =>
      (await store()).save(next, expectedVersion, expireItemAtSeconds),
    release: async (instance, permitId) => (await store()).release(instance, permitId),
    setLimits: async (instance, limits, expireItemAtSeconds) =>
      (await store()).setLimits(instance, limits, expireItemAtSeconds),
    async *list() {
      yield* (await store()).list();
    },
    addUsage: async (instance, day, rows, expireItemAtSeconds) =>
      (await store()).addUsage(instance, day, rows, expireItemAtSeconds),
    readUsage: async (instance, day) => (await store()).readUsage(instance, day),
  };
}

/**
 * The permit service on DynamoDB (or unmetered when no budget table is configured), with usage per consumer
 * beside it. With `marketo` (the token engine and the host allowlist), the vendor asks Marketo's usage.json
 * itself: a reported 607 is confirmed before it closes an instance's day, and the daily count is reconciled.
 */
export function createAwsPermitService(
  config: BudgetRuntimeConfig,
  credentials: CredentialsSource,
  telemetry: Telemetry,
  marketo?: { readonly vendor: TokenVendor; readonly urlPolicy: IdentityUrlPolicy },
): PermitService {
  const logger = coreLogger(telemetry.logger);
  const store = buildBudgetStore(config.tableName);
  const budget = createInstanceBudget(
    {
      store,
      clock: systemClock,
      metrics: coreMetrics(telemetry.metrics),
      logger,
    },
    {
      limits: config.limits,
      onStoreFailure: config.onStoreFailure,
      reconcileIntervalMs: config.reconcileIntervalMs,
    },
  );
  return createPermitService({
    budget,
    credentials,
    logger,
    usage: buildUsageRecorder(store, credentials, telemetry),
    ...(marketo === undefined ? {} : { usageReader: marketoUsageReaders({ ...marketo, credentials }) }),
  });
}
