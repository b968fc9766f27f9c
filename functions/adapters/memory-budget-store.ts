import type { InstanceLimits } from '../contract/index.js';
import type { BudgetStore } from '../core/budget/ports.js';
import type { BudgetState } from '../core/budget/state.js';
import { type ConsumerUsage, emptyCounts, USAGE_COUNTERS, type UsageStore } from '../core/budget/usage.js';
import { MemoryVersionedItems } from './memory-versioned-items.js';

/**
 * An in-process {@link BudgetStore} (and usage per consumer) with the same compare-and-swap semantics as the
 * DynamoDB one, for unit tests and single-process use. It counts writes (saves, releases, limit and usage
 * writes) and can be told to fail, like an unreachable table.
 */
export class MemoryBudgetStore extends MemoryVersionedItems<BudgetState> implements BudgetStore, UsageStore {
  readonly #usage = new Map<string, Map<string, ConsumerUsage>>();

  async release(instance: string, permitId: string): Promise<void> {
    this.check();
    this.writes += 1;
    const current = this.items.get(instance);
    if (!current) return;
    const { [permitId]: _gone, ...leases } = current.leases;
    this.items.set(instance, { ...current, leases, version: current.version + 1 });
  }

  async setLimits(
    instance: string,
    limits: Partial<InstanceLimits> | undefined,
    _expireItemAtSeconds: number,
  ): Promise<void> {
    this.check();
    this.writes += 1;
    const current = this.items.get(instance);
    const { limits: _old, ...rest } = current ?? {
      instance,
      version: 0,
      grants: [],
      leases: {},
      day: '',
      dayCount: 0,
    };
    this.items.set(instance, {
      ...rest,
      version: (current?.version ?? 0) + 1,
      ...(limits === undefined ? {} : { limits }),
    });
  }

  async addUsage(instance: string, day: string, rows: readonly ConsumerUsage[]): Promise<void> {
    this.check();
    this.writes += 1;
    const key = `${instance}#${day}`;
    const item = this.#usage.get(key) ?? new Map<string, ConsumerUsage>();
    for (const row of rows) {
      const id = `${row.client}|${row.consumer}`;
      const counts = { ...(item.get(id)?.counts ?? emptyCounts()) };
      for (const name of USAGE_COUNTERS) counts[name] += row.counts[name];
      item.set(id, { client: row.client, consumer: row.consumer, counts });
    }
    this.#usage.set(key, item);
  }

  async readUsage(instance: string, day: string): Promise<ConsumerUsage[]> {
    this.check();
    this.reads += 1;
    return structuredClone([...(this.#usage.get(`${instance}#${day}`)?.values() ?? [])]);
  }
}
