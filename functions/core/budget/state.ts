import type { InstanceLimits } from '../../contract/index.js';
import { quotaDay } from '../../contract/index.js';
import { leaseClient } from './holder.js';
import type { EffectiveLimits } from './limits.js';
import { type RateSlot, scheduleRate } from './pacing.js';

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
  /** Rate slots still inside the accounting window (and scheduled ones after now), oldest first. */
  readonly grants: readonly RateGrant[];
  /** When the next call is due by the pacing (pacing.ts); absent while the instance is idle. */
  readonly paceAt?: number;
  /**
   * Concurrency leases: lease key (`<client>|<principal tag>|<permit id>`, see holder.ts) → lease expiry
   * (epoch ms). A crashed holder's lease lapses by itself.
   */
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
  /** When a vendor instance last claimed the reconciliation with Marketo's usage (every few minutes). */
  readonly reconciledAt?: number;
  /** When a vendor instance last asked Marketo to confirm a reported 607 (at most every 30 s). */
  readonly confirmedAt?: number;
  /** Calls Marketo counted today at `marketoCountAt` (usage.json), every integration included. */
  readonly marketoCount?: number;
  readonly marketoCountAt?: number;
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
  /** Calls an idle instance grants at once before the pacing spreads the rest over the window. @default 5 */
  readonly burstCalls: number;
  /** A scheduled call's concurrency slot is claimed this long before its instant (a store round trip). @default 300 */
  readonly claimLeadMs: number;
}

export const DEFAULT_TIMING: BudgetTiming = Object.freeze({
  grantBucketMs: 100,
  permitUseByMs: 750,
  accountingMarginMs: 1_250,
  slowdownShare: 0.75,
  concurrencyPollMs: 100,
  burstCalls: 5,
  claimLeadMs: 300,
});

/** What a consumer asks for. */
export interface PermitAsk {
  /** Rate slots (calls) wanted; fewer may be granted. */
  readonly count: number;
  /** Whether a concurrency slot is held until released (or `leaseMs` passes). */
  readonly concurrency: boolean;
  readonly leaseMs: number;
  /** The lease key of a permit to release in the same write (amortizes the release of the previous call). */
  readonly release?: string;
  /** The client (or pool) asking (`holderClient`): its leases are held to its share of the concurrency. */
  readonly client?: string;
  /** How far ahead a rate slot may be scheduled for this ask (what is left of its wait). @default 0 */
  readonly scheduleWithinMs?: number;
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

/** Why a permit is not granted now: the rate window, the instance's concurrency, or the client's share of it. */
export type WaitReason = 'rate' | 'concurrency' | 'client-share';

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
      readonly reason: WaitReason;
      readonly retryAfterMs: number;
      /** Set when the piggybacked release changed the state: it must still be written. */
      readonly next?: BudgetState;
      readonly usage: BudgetUsage;
    }
  /** The rate slot is written at `at` (pacing): answer then; a concurrency slot is claimed at that instant. */
  | {
      readonly kind: 'scheduled';
      readonly next: BudgetState;
      readonly at: number;
      readonly count: number;
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
  if (state.day !== day) {
    // A new quota day: yesterday's count, and what Marketo said of it, are gone.
    const { marketoCount: _count, marketoCountAt: _at, ...rest } = state;
    return { ...rest, grants: state.grants.filter((g) => g.at > horizon), leases, day, dayCount: 0 };
  }
  return { ...state, grants: state.grants.filter((g) => g.at > horizon), leases };
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
  const slot = scheduleRate(
    state,
    Math.min(ask.count, limits.dailyQuota - state.dayCount),
    current.rate,
    limits,
    timing,
    now,
  );
  if (!slot.immediate) {
    const retryAfterMs = Math.max(1, slot.at - now);
    if (retryAfterMs > (ask.scheduleWithinMs ?? 0)) {
      return {
        kind: 'wait',
        reason: 'rate',
        retryAfterMs,
        ...(released ? { next: bump(state) } : {}),
        usage,
      };
    }
    const next = bump(withSlot(state, slot));
    return {
      kind: 'scheduled',
      next,
      at: slot.at,
      count: slot.count,
      usage: usageOf(next, limits, timing, now),
    };
  }
  const busy = concurrencyWait(state, ask, limits, current.concurrency, timing, now);
  if (busy) return { ...busy, ...(released ? { next: bump(state) } : {}), usage };
  const withGrant = withSlot(state, slot);
  const count = slot.count;
  const leaseUntil = ask.concurrency ? now + ask.leaseMs : undefined;
  const next = bump({
    ...withGrant,
    leases: leaseUntil === undefined ? state.leases : { ...state.leases, [permitId]: leaseUntil },
  });
  return {
    kind: 'grant',
    next,
    count,
    ...(leaseUntil === undefined ? {} : { leaseUntil }),
    usage: usageOf(next, limits, timing, now),
  };
}

/** The state with a rate slot written: its calls counted at `slot.at` (grants kept in order) and today. */
function withSlot(state: BudgetState, slot: RateSlot): BudgetState {
  const grants = [...state.grants];
  const same = grants.findIndex((g) => g.at === slot.at);
  if (same >= 0) {
    const merged = grants[same] as RateGrant;
    grants[same] = { at: slot.at, count: merged.count + slot.count };
  } else {
    const after = grants.findIndex((g) => g.at > slot.at);
    grants.splice(after < 0 ? grants.length : after, 0, { at: slot.at, count: slot.count });
  }
  return { ...state, grants, paceAt: slot.paceAt, dayCount: state.dayCount + slot.count };
}

/** Whether a concurrency slot must be waited for: the instance's are all held, or the client holds its share. */
function concurrencyWait(
  state: BudgetState,
  ask: PermitAsk,
  limits: EffectiveLimits,
  concurrency: number,
  timing: BudgetTiming,
  now: number,
): { readonly kind: 'wait'; readonly reason: WaitReason; readonly retryAfterMs: number } | undefined {
  if (!ask.concurrency) return undefined;
  const poll = (leases: ReadonlyArray<number>) =>
    Math.max(1, Math.min(Math.min(...leases) - now, timing.concurrencyPollMs));
  const all = Object.values(state.leases);
  if (all.length >= concurrency) return { kind: 'wait', reason: 'concurrency', retryAfterMs: poll(all) };
  if (ask.client === undefined) return undefined;
  const own = Object.entries(state.leases)
    .filter(([key]) => leaseClient(key) === ask.client)
    .map(([, until]) => until);
  if (own.length >= Math.min(limits.clientConcurrentCalls, concurrency)) {
    return { kind: 'wait', reason: 'client-share', retryAfterMs: poll(own) };
  }
  return undefined;
}

/**
 * The concurrency slot of a call whose rate slot was scheduled (`decide` said `scheduled`), claimed at its
 * instant: the rate slot and the day's count were written then; only the lease is taken now. When none is
 * free the caller waits as for any concurrency slot, and its scheduled rate slot stays spent.
 */
export function claimScheduled(
  stored: BudgetState,
  ask: PermitAsk,
  permitId: string,
  limits: EffectiveLimits,
  timing: BudgetTiming,
  now: number,
): Decision {
  const state = prune(stored, limits, timing, now);
  const usage = usageOf(state, limits, timing, now);
  if (state.exhaustedDay === state.day) return { kind: 'exhausted', usage };
  const busy = concurrencyWait(
    state,
    ask,
    limits,
    limitsNow(state, limits, timing, now).concurrency,
    timing,
    now,
  );
  if (busy) return { ...busy, usage };
  const leaseUntil = now + ask.leaseMs;
  const next = { ...state, version: stored.version + 1, leases: { ...state.leases, [permitId]: leaseUntil } };
  return { kind: 'grant', next, count: ask.count, leaseUntil, usage: usageOf(next, limits, timing, now) };
}
