import { randomUUID } from 'node:crypto';
import { InvalidRequestError, StoreUnavailableError } from '../errors.js';
import type { Clock, Logger } from '../ports.js';
import { nextQuotaReset } from './chicago-day.js';
import { DailyQuotaExhaustedError, PermitUnavailableError } from './errors.js';
import { type EffectiveLimits, effectiveLimits, type InstanceLimits, resolveLimits } from './limits.js';
import type { BudgetMetrics, BudgetStore } from './ports.js';
import {
  type BudgetState,
  type BudgetTiming,
  type BudgetUsage,
  DEFAULT_TIMING,
  decide,
  emptyState,
  prune,
  usageOf,
} from './state.js';

/** What a consumer asks for before its Marketo call(s). */
export interface PermitRequest {
  /** Calls wanted (1-10); fewer may be granted, each to be sent within `useByMs`. @default 1 */
  readonly count?: number;
  /** Hold a concurrency slot until released. @default true */
  readonly concurrency?: boolean;
  /** The concurrency slot comes back by itself after this if never released. @default config.defaultLeaseMs */
  readonly leaseMs?: number;
  /** Release this earlier permit in the same write. */
  readonly release?: string;
  /** Wait here (inside the vendor) up to this long for a slot before answering "retry later". @default 0 */
  readonly maxWaitMs?: number;
}

/** A granted permit. */
export interface Permit {
  /** Pass to release (or as `release` of the next request); `unmetered` when no slot was recorded. */
  readonly permitId: string;
  readonly instance: string;
  /** Calls granted (at most the count asked). */
  readonly count: number;
  /** Send the call(s) within this many ms of asking, or ask again. */
  readonly useByMs: number;
  /** Epoch ms the concurrency slot lapses if not released. */
  readonly leaseUntil?: number;
  /** True when the budget is off or its store failed open: nothing was counted. */
  readonly unmetered: boolean;
  /** Time spent waiting inside the vendor. */
  readonly waitedMs: number;
  readonly usage?: BudgetUsage;
  /** Epoch ms of the next daily quota reset. */
  readonly resetsAt: number;
}

/** An instance's budget for operators (`instances status`). */
export interface BudgetStatus {
  readonly instance: string;
  readonly limits: InstanceLimits;
  readonly usage: BudgetUsage;
  readonly resetsAt: number;
  readonly slowedDown: boolean;
  readonly exhausted: boolean;
}

export interface BudgetConfig {
  readonly timing: BudgetTiming;
  /** @default 15_000 */
  readonly defaultLeaseMs: number;
  /** @default 60_000 */
  readonly maxLeaseMs: number;
  /** Longest wait a request may ask for inside the vendor. @default 20_000 */
  readonly maxWaitMs: number;
  /** Compare-and-swap attempts before answering "retry later". @default 12 */
  readonly maxConflicts: number;
  /**
   * When the store cannot be read or written: `open` grants unmetered permits (Marketo still enforces its
   * limits and clients back off on 606/615), `closed` refuses with 503. @default 'open'
   */
  readonly onStoreFailure: 'open' | 'closed';
  /** Limits per instance key from the deployment (construct config); an operator's CLI override wins. */
  readonly limits: {
    readonly default?: Partial<InstanceLimits>;
    readonly [instance: string]: Partial<InstanceLimits> | undefined;
  };
}

export const DEFAULT_BUDGET_CONFIG: BudgetConfig = Object.freeze({
  timing: DEFAULT_TIMING,
  defaultLeaseMs: 15_000,
  maxLeaseMs: 60_000,
  maxWaitMs: 20_000,
  maxConflicts: 12,
  onStoreFailure: 'open' as const,
  limits: {},
});

export interface BudgetDeps {
  readonly store: BudgetStore;
  readonly clock: Clock;
  readonly metrics?: BudgetMetrics;
  readonly logger?: Logger;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default randomUUID */
  readonly newPermitId?: () => string;
}

/** A Marketo rate-limit error a consumer saw anyway (someone outside the vendor shares the instance). */
export type MarketoLimitCode = '606' | '607' | '615';

export interface InstanceBudget {
  acquire(instance: string, request?: PermitRequest): Promise<Permit>;
  release(instance: string, permitId: string): Promise<void>;
  /** A consumer saw 606/615/607: slow everyone down for a window, or close the day. */
  report(instance: string, code: MarketoLimitCode): Promise<void>;
  status(instance: string): Promise<BudgetStatus>;
  setLimits(instance: string, override: Partial<InstanceLimits> | undefined): Promise<InstanceLimits>;
  listStatus(): Promise<BudgetStatus[]>;
}

const UNMETERED = 'unmetered';
/** Items outlive the quota day they count; DynamoDB TTL removes idle instances. */
const ITEM_LIFETIME_SECONDS = 2 * 86_400;
const MAX_COUNT = 10;

/** The shared per-instance budget: decisions in `state.ts`, consistency by compare-and-swap on the store. */
export function createInstanceBudget(
  deps: BudgetDeps,
  overrides: Partial<BudgetConfig> = {},
): InstanceBudget {
  const config: BudgetConfig = { ...DEFAULT_BUDGET_CONFIG, ...overrides };
  const { store, clock } = deps;
  const random = deps.random ?? Math.random;
  const newPermitId = deps.newPermitId ?? randomUUID;
  const metric = (
    name: Parameters<BudgetMetrics['record']>[0],
    value = 1,
    unit: 'Count' | 'Percent' = 'Count',
  ) => deps.metrics?.record(name, value, unit);
  const expireAt = () => Math.ceil(clock.now() / 1000) + ITEM_LIFETIME_SECONDS;

  const limitsOf = (instance: string, state: BudgetState | undefined): InstanceLimits =>
    resolveLimits(
      state?.limits ?? {},
      resolveLimits(config.limits[instance] ?? {}, resolveLimits(config.limits.default ?? {})),
    );

  const storeFailed = (error: unknown, instance: string, now: number, waitedMs: number): Permit => {
    metric('BudgetStoreErrors');
    deps.logger?.warn('budget store unavailable', {
      instance,
      mode: config.onStoreFailure,
      errorName: error instanceof Error ? error.name : typeof error,
    });
    if (config.onStoreFailure === 'closed') {
      throw new StoreUnavailableError('the API budget store is unavailable; retry shortly', {
        cause: error,
        retryAfterSeconds: 1,
      });
    }
    metric('PermitsUnmetered');
    return unmetered(instance, now, waitedMs);
  };

  const unmetered = (instance: string, now: number, waitedMs: number): Permit => ({
    permitId: UNMETERED,
    instance,
    count: 1,
    useByMs: config.timing.permitUseByMs,
    unmetered: true,
    waitedMs,
    resetsAt: nextQuotaReset(now),
  });

  const validate = (request: PermitRequest) => {
    const count = request.count ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
      throw new InvalidRequestError(`count must be a whole number from 1 to ${MAX_COUNT}`);
    }
    const leaseMs = request.leaseMs ?? config.defaultLeaseMs;
    if (!Number.isInteger(leaseMs) || leaseMs < 1_000 || leaseMs > config.maxLeaseMs) {
      throw new InvalidRequestError(`leaseMs must be a whole number from 1000 to ${config.maxLeaseMs}`);
    }
    const maxWaitMs = request.maxWaitMs ?? 0;
    if (!Number.isInteger(maxWaitMs) || maxWaitMs < 0 || maxWaitMs > config.maxWaitMs) {
      throw new InvalidRequestError(`maxWaitMs must be a whole number from 0 to ${config.maxWaitMs}`);
    }
    return { count, leaseMs, maxWaitMs, concurrency: request.concurrency ?? true };
  };

  const acquire = async (instance: string, request: PermitRequest = {}): Promise<Permit> => {
    const ask = validate(request);
    const started = clock.now();
    let conflicts = 0;
    let waited = false;
    for (;;) {
      const now = clock.now();
      let stored: BudgetState | undefined;
      try {
        stored = await store.get(instance);
      } catch (error) {
        return storeFailed(error, instance, now, now - started);
      }
      const limits = limitsOf(instance, stored);
      if (!limits.enabled) return unmetered(instance, now, now - started);
      const effective = effectiveLimits(limits);
      const state = stored ?? emptyState(instance, now);
      const permitId = newPermitId();
      const decision = decide(
        state,
        { ...ask, ...(request.release === undefined ? {} : { release: request.release }) },
        permitId,
        effective,
        config.timing,
        now,
      );
      if (decision.next) {
        let saved: boolean;
        try {
          saved = await store.save(decision.next, state.version, expireAt());
        } catch (error) {
          return storeFailed(error, instance, now, now - started);
        }
        if (!saved) {
          conflicts += 1;
          metric('PermitConflicts');
          if (conflicts >= config.maxConflicts) {
            metric('PermitsRefused');
            throw new PermitUnavailableError('contention', 50 + Math.floor(random() * 200));
          }
          // Someone else wrote first: read again, after a short random pause once it keeps happening.
          if (conflicts > 2) await clock.sleep(Math.floor(random() * 20 * conflicts));
          continue;
        }
      }
      const resetsAt = nextQuotaReset(now);
      if (decision.kind === 'grant') {
        metric('PermitsGranted', decision.count);
        metric('DailyQuotaUsedPercent', (100 * decision.usage.dailyUsed) / effective.dailyQuota, 'Percent');
        return {
          permitId,
          instance,
          count: decision.count,
          useByMs: config.timing.permitUseByMs,
          ...(decision.leaseUntil === undefined ? {} : { leaseUntil: decision.leaseUntil }),
          unmetered: false,
          waitedMs: now - started,
          usage: decision.usage,
          resetsAt,
        };
      }
      if (decision.kind === 'exhausted') {
        metric('PermitsRefused');
        throw new DailyQuotaExhaustedError(resetsAt, now);
      }
      if (decision.next) continue; // the release was written; decide again on the new version
      // Spread the waiters so they do not all come back at the same instant.
      const pauseMs = decision.retryAfterMs + Math.floor(random() * 100);
      if (now + pauseMs - started > ask.maxWaitMs) {
        metric('PermitsRefused');
        throw new PermitUnavailableError(decision.reason, pauseMs);
      }
      if (!waited) metric('PermitsWaited');
      waited = true;
      await clock.sleep(pauseMs);
    }
  };

  const release = async (instance: string, permitId: string): Promise<void> => {
    if (permitId === UNMETERED) return;
    try {
      await store.release(instance, permitId);
    } catch (error) {
      // The lease lapses by itself; a failed release only holds the slot until then.
      metric('BudgetStoreErrors');
      deps.logger?.warn('budget release failed', {
        instance,
        errorName: error instanceof Error ? error.name : typeof error,
      });
    }
  };

  const report = async (instance: string, code: MarketoLimitCode): Promise<void> => {
    metric(
      code === '606'
        ? 'MarketoRateLimited606'
        : code === '615'
          ? 'MarketoConcurrencyLimited615'
          : 'MarketoDailyQuota607',
    );
    for (let attempt = 0; attempt < config.maxConflicts; attempt += 1) {
      const now = clock.now();
      const stored = await store.get(instance);
      const effective = effectiveLimits(limitsOf(instance, stored));
      const state = prune(stored ?? emptyState(instance, now), effective, config.timing, now);
      const until = now + effective.rateWindowMs;
      const next: BudgetState = {
        ...state,
        version: (stored?.version ?? 0) + 1,
        ...(code === '606'
          ? { slowUntil: until }
          : code === '615'
            ? { narrowUntil: until }
            : { exhaustedDay: state.day }),
      };
      if (await store.save(next, stored?.version ?? 0, expireAt())) return;
    }
  };

  const statusOf = (instance: string, stored: BudgetState | undefined): BudgetStatus => {
    const now = clock.now();
    const limits = limitsOf(instance, stored);
    const effective: EffectiveLimits = effectiveLimits(limits);
    const state = prune(stored ?? emptyState(instance, now), effective, config.timing, now);
    return {
      instance,
      limits,
      usage: usageOf(state, effective, config.timing, now),
      resetsAt: nextQuotaReset(now),
      slowedDown: (state.slowUntil ?? 0) > now || (state.narrowUntil ?? 0) > now,
      exhausted: state.exhaustedDay === state.day || state.dayCount >= effective.dailyQuota,
    };
  };

  return {
    acquire,
    release,
    report,
    status: async (instance) => statusOf(instance, await store.get(instance)),
    async setLimits(instance, override) {
      const merged =
        override === undefined ? undefined : resolveLimits(override, limitsOf(instance, undefined));
      await store.setLimits(instance, override === undefined ? undefined : override, expireAt());
      return merged ?? limitsOf(instance, undefined);
    },
    async listStatus() {
      const out: BudgetStatus[] = [];
      for await (const state of store.list()) out.push(statusOf(state.instance, state));
      return out.sort((a, b) => a.instance.localeCompare(b.instance));
    },
  };
}
