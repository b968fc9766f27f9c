import type { BulkSlotStore } from '../core/bulk/ports.js';
import type { BulkState } from '../core/bulk/state.js';

/**
 * An in-process {@link BulkSlotStore} with the same compare-and-swap semantics as the DynamoDB one, for unit
 * tests and single-process use. It counts writes and can be told to fail, like an unreachable table.
 */
export class MemoryBulkSlotStore implements BulkSlotStore {
  readonly #items = new Map<string, BulkState>();
  #failing = false;
  /** Conditional saves attempted (successful or not). */
  writes = 0;
  reads = 0;

  /** From now on every call throws (`true`) or works again (`false`). */
  setFailing(failing: boolean): void {
    this.#failing = failing;
  }

  #check(): void {
    if (this.#failing) {
      const error = new Error('bulk slot store unreachable');
      error.name = 'ServiceUnavailable';
      throw error;
    }
  }

  async get(instance: string): Promise<BulkState | undefined> {
    this.#check();
    this.reads += 1;
    const item = this.#items.get(instance);
    return item === undefined ? undefined : structuredClone(item);
  }

  async save(next: BulkState, expectedVersion: number, _expireItemAtSeconds: number): Promise<boolean> {
    this.#check();
    this.writes += 1;
    const current = this.#items.get(next.instance);
    if ((current?.version ?? 0) !== expectedVersion) return false;
    this.#items.set(next.instance, structuredClone(next));
    return true;
  }

  async *list(): AsyncGenerator<BulkState> {
    this.#check();
    for (const item of this.#items.values()) yield structuredClone(item);
  }
}
