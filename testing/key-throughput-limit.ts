/**
 * DynamoDB's per-partition limits around a token store, on a clock: one item always lives in one partition,
 * which serves at most 3,000 read units and 1,000 write units a second (on-demand tables too). A strongly
 * consistent read of a small item costs 1 unit, an eventually consistent one half; every write 1 (a failed
 * conditional write too). A request over the limit is refused with `ProvisionedThroughputExceededException`
 * after the SDK's retries (its standard mode: a random backoff below base × 2^attempt), and costs nothing.
 * An eventually consistent read sees the item as it was `staleReadMs` earlier. dynalite models none of this.
 */
import type { Clock, TokenRecord, TokenStore } from '../functions/core/ports.js';

/** Settings of {@link limitKeyThroughput}. */
export interface KeyThroughputOptions {
  /** @default 3_000 */
  readonly readUnitsPerSecond?: number;
  /** @default 1_000 */
  readonly writeUnitsPerSecond?: number;
  /** Attempts of one request, as the SDK client's `maxAttempts` (the Lambdas use 2). @default 2 */
  readonly maxAttempts?: number;
  /** Base of the SDK's retry backoff. @default 100 */
  readonly retryBaseMs?: number;
  /** How far behind an eventually consistent read may be. @default 250 */
  readonly staleReadMs?: number;
  /** @default Math.random */
  readonly random?: () => number;
}

/** What the limit saw, per key. */
export interface KeyThroughputStats {
  /** Units served per whole second (index = second since the first request). */
  readonly readUnitsPerSecond: ReadonlyMap<number, number>;
  readonly writeUnitsPerSecond: ReadonlyMap<number, number>;
  /** Attempts refused (each SDK attempt counts). */
  readonly throttledReads: number;
  readonly throttledWrites: number;
  /** Requests that failed after every attempt was refused. */
  readonly failedReads: number;
  readonly failedWrites: number;
  readonly consistentReads: number;
  readonly eventualReads: number;
}

/** The store behind the limit, and what it counted. */
export interface LimitedStore {
  readonly store: TokenStore;
  stats(clientId: string): KeyThroughputStats;
}

interface KeyState {
  readonly reads: Array<{ at: number; units: number }>;
  readonly writes: Array<{ at: number; units: number }>;
  readonly history: Array<{ at: number; record: TokenRecord | undefined }>;
  readonly readPerSecond: Map<number, number>;
  readonly writePerSecond: Map<number, number>;
  throttledReads: number;
  throttledWrites: number;
  failedReads: number;
  failedWrites: number;
  consistentReads: number;
  eventualReads: number;
}

const throttled = (): Error => {
  const error = new Error('The level of configured provisioned throughput for the table was exceeded');
  error.name = 'ProvisionedThroughputExceededException';
  return error;
};

/** `inner` behind DynamoDB's per-partition limits (see the module comment). */
export function limitKeyThroughput(
  inner: TokenStore,
  clock: Clock,
  options: KeyThroughputOptions = {},
): LimitedStore {
  const readLimit = options.readUnitsPerSecond ?? 3_000;
  const writeLimit = options.writeUnitsPerSecond ?? 1_000;
  const maxAttempts = options.maxAttempts ?? 2;
  const retryBaseMs = options.retryBaseMs ?? 100;
  const staleReadMs = options.staleReadMs ?? 250;
  const random = options.random ?? Math.random;
  const keys = new Map<string, KeyState>();
  let origin: number | undefined;
  const stateOf = (clientId: string): KeyState => {
    let state = keys.get(clientId);
    if (!state) {
      state = {
        reads: [],
        writes: [],
        history: [],
        readPerSecond: new Map(),
        writePerSecond: new Map(),
        throttledReads: 0,
        throttledWrites: 0,
        failedReads: 0,
        failedWrites: 0,
        consistentReads: 0,
        eventualReads: 0,
      };
      keys.set(clientId, state);
    }
    return state;
  };
  /** Takes `units` from the key's last second, or false when that would pass `limit`. */
  const take = (window: Array<{ at: number; units: number }>, units: number, limit: number): boolean => {
    const now = clock.now();
    while (window.length > 0 && (window[0]?.at ?? now) <= now - 1_000) window.shift();
    const used = window.reduce((sum, w) => sum + w.units, 0);
    if (used + units > limit) return false;
    window.push({ at: now, units });
    return true;
  };
  const second = (): number => {
    origin ??= clock.now();
    return Math.floor((clock.now() - origin) / 1000);
  };
  /** Runs `request` through the limit with the SDK's attempts and backoff. */
  const limited = async <T>(
    clientId: string,
    kind: 'read' | 'write',
    units: number,
    request: () => Promise<T>,
  ) => {
    const state = stateOf(clientId);
    for (let attempt = 0; ; attempt += 1) {
      const ok =
        kind === 'read' ? take(state.reads, units, readLimit) : take(state.writes, units, writeLimit);
      if (ok) {
        const perSecond = kind === 'read' ? state.readPerSecond : state.writePerSecond;
        perSecond.set(second(), (perSecond.get(second()) ?? 0) + units);
        return request();
      }
      if (kind === 'read') state.throttledReads += 1;
      else state.throttledWrites += 1;
      if (attempt + 1 >= maxAttempts) {
        if (kind === 'read') state.failedReads += 1;
        else state.failedWrites += 1;
        throw throttled();
      }
      await clock.sleep(Math.floor(random() * retryBaseMs * 2 ** (attempt + 1)));
    }
  };
  /** Before a key's first write through the limit: what it held until then. */
  const rememberBefore = async (clientId: string): Promise<void> => {
    const { history } = stateOf(clientId);
    if (history.length === 0)
      history.push({ at: Number.NEGATIVE_INFINITY, record: await inner.get(clientId) });
  };
  /** Keeps what each write left, so an eventually consistent read can be served from the past. */
  const remember = async (clientId: string): Promise<void> => {
    stateOf(clientId).history.push({ at: clock.now(), record: await inner.get(clientId) });
  };
  const asOf = async (clientId: string, at: number): Promise<TokenRecord | undefined> => {
    const { history } = stateOf(clientId);
    if (history.length === 0) return inner.get(clientId);
    for (let i = history.length - 1; i >= 0; i -= 1) {
      const entry = history[i];
      if (entry && entry.at <= at) return entry.record;
    }
    return undefined;
  };
  const store: TokenStore = {
    get: (clientId, readOptions) => {
      const consistent = readOptions?.consistent ?? true;
      const state = stateOf(clientId);
      if (consistent) state.consistentReads += 1;
      else state.eventualReads += 1;
      return limited(clientId, 'read', consistent ? 1 : 0.5, () =>
        consistent ? inner.get(clientId) : asOf(clientId, clock.now() - staleReadMs),
      );
    },
    acquireLease: async (clientId, expectedVersion, lease, ttl) => {
      await rememberBefore(clientId);
      const result = await limited(clientId, 'write', 1, () =>
        inner.acquireLease(clientId, expectedVersion, lease, ttl),
      );
      if (result) await remember(clientId);
      return result;
    },
    completeLease: async (clientId, owner, outcome, ttl) => {
      await rememberBefore(clientId);
      const result = await limited(clientId, 'write', 1, () =>
        inner.completeLease(clientId, owner, outcome, ttl),
      );
      if (result) await remember(clientId);
      return result;
    },
    scheduleRefresh: async (clientId, refreshAt, ttl) => {
      await rememberBefore(clientId);
      await limited(clientId, 'write', 1, () => inner.scheduleRefresh(clientId, refreshAt, ttl));
      await remember(clientId);
    },
    delete: (clientId) => inner.delete(clientId),
    list: () => inner.list(),
  };
  return {
    store,
    stats(clientId) {
      const s = stateOf(clientId);
      return {
        readUnitsPerSecond: s.readPerSecond,
        writeUnitsPerSecond: s.writePerSecond,
        throttledReads: s.throttledReads,
        throttledWrites: s.throttledWrites,
        failedReads: s.failedReads,
        failedWrites: s.failedWrites,
        consistentReads: s.consistentReads,
        eventualReads: s.eventualReads,
      };
    },
  };
}
