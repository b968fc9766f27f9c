import type { InstanceLimits } from '../../contract/index.js';
import { quotaDay } from '../../contract/index.js';
import type { EffectiveLimits } from './limits.js';

/** Rate slots handed out at one instant (rounded up to the grant bucket). */
export interface RateGrant {
  /** Epoch ms. */
  readonly at: number;
  readonly count: number;
}

/** One instance's budget as stored (one item per instance). */
export interface BudgetState {
  /** The instance key: REST host (or Identity host). */
  readonly instance: string;
  /** Incremented by every write; every read-modify-write is a compare-and-swap on it. 0: no item yet. */
  readonly version: number;
  /** Rate slots still inside the accounting window, oldest first. */
  readonly grants: readonly RateGrant[];
  /** Concurrency leases: permit id → lease expiry (epoch ms). A crashed holder's lease lapses by itself. */
  readonly leases: Readonly<Record<string, number>>;
  /** Quota day (`YYYY-MM-DD`, Chicago) that `dayCount` counts. */
  readonly day: string;
  readonly dayCount: number;
  /** Until then (epoch ms) the rate is reduced: a consumer saw a 606 (someone outside the vendor is calling). */
  readonly slowUntil?: number;
  /** Until then the concurrency is reduced: a consumer saw a 615. */
  readonly narrowUntil?: number;
  /** A consumer saw a 607 on this quota day: refuse until the reset. */
  readonly exhaustedDay?: string;
  /** Operator override (CLI), over the deployment's configuration. */
  readonly limits?: Partial<InstanceLimits>;
}

/** How the budget turns Marketo's limits into grants. */
export interface BudgetTiming {
  /** Grant instants are rounded up to this (fewer, merged entries; conservative). @default 100 */
  readonly grantBucketMs: number;
  /** A rate slot must be used (the call sent) within this of asking for it. @default 750 */
  readonly permitUseByMs: number;
  /**
   * Rate slots are counted for `rateWindowMs` plus this: it covers the use-by time, the way to Marketo and
   * clock skew between vendor instances, so Marketo's own rolling window never sees more. @default 1_250
   */
  readonly accountingMarginMs: number;
  /** Share of the rate (and concurrency) kept while slowed down after a reported 606/615. @default 0.75 */
  readonly slowdownShare: number;
  /** A consumer waiting for a concurrency slot asks again after at most this (releases come any time). @default 100 */
  readonly concurrencyPollMs: number;
}

export const DEFAULT_TIMING: BudgetTiming = Object.freeze({
  grantBucketMs: 100,
  permitUseByMs: 750,
  accountingMarginMs: 1_250,
  slowdownShare: 0.75,
  concurrencyPollMs: 100,
});

/** What a consumer asks for. */
export interface PermitAsk {
  /** Rate slots (calls) wanted; fewer may be granted. */
  readonly count: number;
  /** Whether a concurrency slot is held until released (or `leaseMs` passes). */
  readonly concurrency: boolean;
  readonly leaseMs: number;
  /** A permit to release in the same write (amortizes the release of the previous call). */
  readonly release?: string;
}

/** The numbers operators and consumers see. */
export interface BudgetUsage {
  readonly windowCalls: number;
  readonly windowLimit: number;
  readonly inFlight: number;
  readonly concurrencyLimit: number;
  readonly dailyUsed: number;
  readonly dailyQuota: number;
}

export type Decision =
  | {
      readonly kind: 'grant';
      readonly next: BudgetState;
      readonly count: number;
      readonly leaseUntil?: number;
      readonly usage: BudgetUsage;
    }
  | {
      readonly kind: 'wait';
      readonly reason: 'rate' | 'concurrency';
      readonly retryAfterMs: number;
      /** Set when the piggybacked release changed the state: it must still be written. */
      readonly next?: BudgetState;
      readonly usage: BudgetUsage;
    }
  | { readonly kind: 'exhausted'; readonly next?: BudgetState; readonly usage: BudgetUsage };

export const emptyState = (instance: string, now: number): BudgetState => ({
  instance,
  version: 0,
  grants: [],
  leases: {},
  day: quotaDay(now),
  dayCount: 0,
});

/** Drops what has aged out: grants past the accounting window, lapsed leases, yesterday's count. */
export function prune(
  state: BudgetState,
  limits: EffectiveLimits,
  timing: BudgetTiming,
  now: number,
): BudgetState {
  const horizon = now - limits.rateWindowMs - timing.accountingMarginMs;
  const leases: Record<string, number> = {};
  for (const [id, until] of Object.entries(state.leases)) if (until > now) leases[id] = until;
  const day = quotaDay(now);
  return {
    ...state,
    grants: state.grants.filter((g) => g.at > horizon),
    leases,
    ...(state.day === day ? {} : { day, dayCount: 0 }),
  };
}

/** The limits in force now: slowed down for a window after a reported 606/615. */
const limitsNow = (state: BudgetState, limits: EffectiveLimits, timing: BudgetTiming, now: number) => ({
  rate:
    (state.slowUntil ?? 0) > now
      ? Math.max(1, Math.floor(limits.callsPerWindow * timing.slowdownShare))
      : limits.callsPerWindow,
  concurrency:
    (state.narrowUntil ?? 0) > now
      ? Math.max(1, Math.floor(limits.concurrentCalls * timing.slowdownShare))
      : limits.concurrentCalls,
});

export function usageOf(
  state: BudgetState,
  limits: EffectiveLimits,
  timing: BudgetTiming,
  now: number,
): BudgetUsage {
  const current = limitsNow(state, limits, timing, now);
  return {
    windowCalls: state.grants.reduce((sum, g) => sum + g.count, 0),
    windowLimit: current.rate,
    inFlight: Object.keys(state.leases).length,
    concurrencyLimit: current.concurrency,
    dailyUsed: state.dayCount,
    dailyQuota: limits.dailyQuota,
  };
}

/**
 * The one decision: given the (pruned) state, grant `ask` now, or say how long to wait, or that the day is
 * used up. Pure: the caller writes `next` with a compare-and-swap on `state.version`.
 */
export function decide(
  stored: BudgetState,
  ask: PermitAsk,
  permitId: string,
  limits: EffectiveLimits,
  timing: BudgetTiming,
  now: number,
): Decision {
  let state = prune(stored, limits, timing, now);
  let released = false;
  if (ask.release !== undefined && ask.release in state.leases) {
    const { [ask.release]: _gone, ...rest } = state.leases;
    state = { ...state, leases: rest };
    released = true;
  }
  const bump = (s: BudgetState): BudgetState => ({ ...s, version: stored.version + 1 });
  const current = limitsNow(state, limits, timing, now);
  const usage = usageOf(state, limits, timing, now);
  if (state.exhaustedDay === state.day || state.dayCount >= limits.dailyQuota) {
    return { kind: 'exhausted', ...(released ? { next: bump(state) } : {}), usage };
  }
  const inWindow = usage.windowCalls;
  const free = current.rate - inWindow;
  if (free <= 0) {
    // The oldest grants age out first: wait until enough of them have for one more call.
    let needed = inWindow - current.rate + 1;
    let at = now;
    for (const grant of state.grants) {
      needed -= grant.count;
      at = grant.at;
      if (needed <= 0) break;
    }
    const retryAfterMs = Math.max(1, at + limits.rateWindowMs + timing.accountingMarginMs - now + 1);
    return { kind: 'wait', reason: 'rate', retryAfterMs, ...(released ? { next: bump(state) } : {}), usage };
  }
  if (ask.concurrency && usage.inFlight >= current.concurrency) {
    const soonest = Math.min(...Object.values(state.leases));
    return {
      kind: 'wait',
      reason: 'concurrency',
      retryAfterMs: Math.max(1, Math.min(soonest - now, timing.concurrencyPollMs)),
      ...(released ? { next: bump(state) } : {}),
      usage,
    };
  }
  const count = Math.min(ask.count, free, limits.dailyQuota - state.dayCount);
  const at = Math.ceil(now / timing.grantBucketMs) * timing.grantBucketMs;
  const last = state.grants[state.grants.length - 1];
  const grants =
    last && last.at === at
      ? [...state.grants.slice(0, -1), { at, count: last.count + count }]
      : [...state.grants, { at, count }];
  const leaseUntil = ask.concurrency ? now + ask.leaseMs : undefined;
  const next = bump({
    ...state,
    grants,
    leases: leaseUntil === undefined ? state.leases : { ...state.leases, [permitId]: leaseUntil },
    dayCount: state.dayCount + count,
  });
  return {
    kind: 'grant',
    next,
    count,
    ...(leaseUntil === undefined ? {} : { leaseUntil }),
    usage: usageOf(next, limits, timing, now),
  };
}
