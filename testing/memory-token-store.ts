import type {
  DueRefresh,
  Lease,
  LeaseOutcome,
  RefreshIndex,
  RefreshPlanState,
  TokenRecord,
  TokenStore,
} from '../functions/core/ports.js';

/**
 * An in-memory `TokenStore` with DynamoDB's conditional-write semantics, for unit tests of the core.
 * `failNext` makes the next calls throw, to model an unreachable store.
 */
export class MemoryTokenStore implements TokenStore {
  readonly items = new Map<string, TokenRecord>();
  readonly calls = { get: 0, acquireLease: 0, completeLease: 0, scheduleRefresh: 0 };
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

  /** Always consistent (`options.consistent` is ignored; testing/key-throughput-limit.ts models stale reads). */
  async get(
    clientId: string,
    _options?: { readonly consistent?: boolean },
  ): Promise<TokenRecord | undefined> {
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
    const { lease: _released, lastError: _cleared, ...kept } = item;
    if ('token' in outcome) {
      // A success replaces the index entry and the instance along with the token.
      const { instance: _instance, refreshAt: _refreshAt, ...rest } = kept;
      this.items.set(clientId, {
        ...rest,
        token: outcome.token,
        version: item.version + 1,
        ...(outcome.refreshAt === undefined ? {} : { refreshAt: outcome.refreshAt }),
        ...(outcome.instance === undefined ? {} : { instance: outcome.instance }),
      });
    } else {
      this.items.set(clientId, { ...kept, lastError: outcome.error, version: item.version + 1 });
    }
    return true;
  }

  async scheduleRefresh(clientId: string, refreshAt: number | undefined): Promise<void> {
    this.calls.scheduleRefresh += 1;
    await this.check();
    const item = this.items.get(clientId);
    if (refreshAt === undefined) {
      if (!item) return;
      const { refreshAt: _removed, ...rest } = item;
      this.items.set(clientId, rest);
      return;
    }
    this.items.set(clientId, { ...(item ?? { clientId, version: 0 }), refreshAt });
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

/** The refresh index over a {@link MemoryTokenStore}'s items, with an in-memory plan state. */
export class MemoryRefreshIndex implements RefreshIndex {
  plan: RefreshPlanState | undefined;
  readonly calls = { due: 0, readPlan: 0, advancePlan: 0 };

  constructor(private readonly store: MemoryTokenStore) {}

  async *due(range: { readonly from?: number; readonly until: number }): AsyncGenerator<DueRefresh> {
    this.calls.due += 1;
    const from = range.from ?? Number.NEGATIVE_INFINITY;
    const entries: DueRefresh[] = [];
    for (const { clientId, refreshAt, instance } of this.store.items.values()) {
      if (refreshAt !== undefined && refreshAt >= from && refreshAt < range.until)
        entries.push({ clientId, refreshAt, ...(instance === undefined ? {} : { instance }) });
    }
    yield* entries.sort((a, b) => a.refreshAt - b.refreshAt);
  }

  async readPlan(): Promise<RefreshPlanState | undefined> {
    this.calls.readPlan += 1;
    return this.plan;
  }

  async advancePlan(expected: RefreshPlanState | undefined, next: RefreshPlanState): Promise<boolean> {
    this.calls.advancePlan += 1;
    if (this.plan?.version !== expected?.version) return false;
    this.plan = next;
    return true;
  }
}
