import type { Lease, LeaseOutcome, TokenRecord, TokenStore } from '../functions/core/ports.js';

/**
 * An in-memory `TokenStore` with DynamoDB's conditional-write semantics, for unit tests of the core.
 * `failNext` makes the next calls throw, to model an unreachable store.
 */
export class MemoryTokenStore implements TokenStore {
  readonly items = new Map<string, TokenRecord>();
  readonly calls = { get: 0, acquireLease: 0, completeLease: 0 };
  private failures = 0;
  /** When set, every call throws (store down). */
  down = false;

  failNext(times = 1): void {
    this.failures += times;
  }

  private check(): Promise<void> {
    if (this.down || this.failures > 0) {
      if (this.failures > 0) this.failures -= 1;
      const error = new Error('connect ECONNREFUSED 127.0.0.1:1');
      error.name = 'TimeoutError';
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  async get(clientId: string): Promise<TokenRecord | undefined> {
    this.calls.get += 1;
    await this.check();
    return this.items.get(clientId);
  }

  async acquireLease(
    clientId: string,
    expectedVersion: number | undefined,
    lease: Lease,
  ): Promise<TokenRecord | undefined> {
    this.calls.acquireLease += 1;
    await this.check();
    const item = this.items.get(clientId);
    if (expectedVersion === undefined ? item !== undefined : item?.version !== expectedVersion)
      return undefined;
    const next: TokenRecord = {
      ...(item ?? { clientId, version: 0 }),
      lease,
      version: (item?.version ?? 0) + 1,
    };
    this.items.set(clientId, next);
    return next;
  }

  async completeLease(clientId: string, owner: string, outcome: LeaseOutcome): Promise<boolean> {
    this.calls.completeLease += 1;
    await this.check();
    const item = this.items.get(clientId);
    if (!item || item.lease?.owner !== owner) return false;
    if ('interrupted' in outcome) {
      // Lapsed at any clock (this store has none of its own).
      this.items.set(clientId, { ...item, lease: { owner, leaseUntil: 0 } });
      return true;
    }
    const { lease: _released, lastError: _cleared, ...rest } = item;
    const next: TokenRecord =
      'token' in outcome
        ? { ...rest, token: outcome.token, version: item.version + 1 }
        : { ...rest, lastError: outcome.error, version: item.version + 1 };
    this.items.set(clientId, next);
    return true;
  }

  async delete(clientId: string): Promise<void> {
    await this.check();
    this.items.delete(clientId);
  }

  async *list(): AsyncIterable<TokenRecord> {
    await this.check();
    yield* this.items.values();
  }
}
