/**
 * One item per instance in memory, written only by compare-and-swap on its `version`, as the budget table's
 * items are in DynamoDB: the base of the in-process stores for unit tests and single-process use. It counts
 * reads and writes and can be told to fail, like an unreachable table.
 */
export class MemoryVersionedItems<T extends { readonly instance: string; readonly version: number }> {
  protected readonly items = new Map<string, T>();
  #failing = false;
  /** Conditional saves attempted (successful or not), and any other writes of a subclass. */
  writes = 0;
  reads = 0;

  /** From now on every call throws (`true`) or works again (`false`). */
  setFailing(failing: boolean): void {
    this.#failing = failing;
  }

  /** Throws as an unreachable table would, when told to fail. */
  protected check(): void {
    if (this.#failing) {
      const error = new Error('store unreachable');
      error.name = 'ServiceUnavailable';
      throw error;
    }
  }

  async get(instance: string): Promise<T | undefined> {
    this.check();
    this.reads += 1;
    const item = this.items.get(instance);
    return item === undefined ? undefined : structuredClone(item);
  }

  async save(next: T, expectedVersion: number, _expireItemAtSeconds: number): Promise<boolean> {
    this.check();
    this.writes += 1;
    const current = this.items.get(next.instance);
    if ((current?.version ?? 0) !== expectedVersion) return false;
    this.items.set(next.instance, structuredClone(next));
    return true;
  }

  async *list(): AsyncGenerator<T> {
    this.check();
    for (const item of this.items.values()) yield structuredClone(item);
  }
}
