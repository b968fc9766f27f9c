/**
 * Permits without stalls (issue 27): grants are spread over the rate window in arrival order instead of
 * handed out in the window's first seconds (after which everyone waited for it to roll).
 *
 * Pacing is the generic cell rate algorithm with a small burst: calls are due one `intervalMs` apart
 * (the accounting window over the rate, so the sustained rate is the window's), `paceAt` is when the next
 * call is due, and up to `burstCalls` may go earlier, so an idle instance still answers a short burst at
 * once. A call not due yet is *scheduled*: its slot is written now, at its due instant, so whoever asks
 * next is scheduled after it (arrival order across every vendor instance), and the vendor answers it at
 * that instant. The rolling window is still checked at every grant: pacing shapes, the window guarantees
 * (0 × 606).
 */
import type { EffectiveLimits } from './limits.js';
import type { BudgetState, BudgetTiming, RateGrant } from './state.js';

/** Where a call's rate slot goes. */
export interface RateSlot {
  /** Epoch ms the slot is counted at (rounded up to `grantBucketMs`); `now`'s bucket when due at once. */
  readonly at: number;
  /** Calls granted there (at most the count asked). */
  readonly count: number;
  /** True when the slot is now: no scheduling, no wait. */
  readonly immediate: boolean;
  /** `paceAt` after this grant. */
  readonly paceAt: number;
}

/** The accounting window: Marketo's window plus the margin that covers use-by time and network. */
export const accountingWindowMs = (limits: EffectiveLimits, timing: BudgetTiming): number =>
  limits.rateWindowMs + timing.accountingMarginMs;

/** Grants counted at or after `from` (future, scheduled ones included: conservative for any later window). */
const countFrom = (grants: readonly RateGrant[], from: number): number =>
  grants.reduce((sum, g) => (g.at > from ? sum + g.count : sum), 0);

/**
 * The earliest instant from `start` at which every rolling window containing it still has room for a call:
 * grants from one window before it on (scheduled ones too) leave room, else the instant the oldest of them
 * that must go has aged out.
 */
const windowAllows = (grants: readonly RateGrant[], start: number, rate: number, windowMs: number) => {
  let at = start;
  for (;;) {
    const inWindow = grants.filter((g) => g.at > at - windowMs);
    const counted = inWindow.reduce((sum, g) => sum + g.count, 0);
    if (counted < rate) return { at, free: rate - counted };
    let excess = counted - rate + 1;
    let agesOut = at;
    for (const grant of inWindow) {
      excess -= grant.count;
      agesOut = grant.at + windowMs + 1;
      if (excess <= 0) break;
    }
    // Grants after `at` never age out before it: then the slot goes after the last of them.
    at = Math.max(agesOut, at + 1);
  }
};

/** Where the rate slot of `count` calls asked at `now` goes, with `rate` calls allowed per window. */
export function scheduleRate(
  state: BudgetState,
  count: number,
  rate: number,
  limits: EffectiveLimits,
  timing: BudgetTiming,
  now: number,
): RateSlot {
  const windowMs = accountingWindowMs(limits, timing);
  const intervalMs = windowMs / rate;
  const burstMs = timing.burstCalls * intervalMs;
  const due = Math.max(now, (state.paceAt ?? 0) - burstMs);
  const bucket = (t: number) => Math.ceil(t / timing.grantBucketMs) * timing.grantBucketMs;
  const allowed = windowAllows(state.grants, bucket(due), rate, windowMs);
  const at = bucket(allowed.at);
  const granted = Math.min(count, allowed.free, rate - countFrom(state.grants, at - windowMs));
  // Pushed past its due instant by the window: whoever comes next is due after it, in arrival order.
  const base =
    at > bucket(due) ? Math.max(state.paceAt ?? 0, at + burstMs) : Math.max(state.paceAt ?? 0, now);
  return {
    at,
    count: granted,
    immediate: at === bucket(now),
    paceAt: base + granted * intervalMs,
  };
}
