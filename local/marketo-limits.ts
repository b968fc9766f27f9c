/**
 * Marketo's per-instance API limits as the simulator enforces them (Marketo Integration Best Practices,
 * "API Limits"): a rolling rate window (606), concurrent calls (615) and a daily quota reset at 00:00
 * America/Chicago (607). Each refusal is HTTP 200 with `success:false` and Marketo's code and message.
 * Refused calls do not count against the window or the quota.
 */
import { MARKETO_DEFAULT_LIMITS, quotaDay } from '../functions/contract/index.js';

/** Limits of one simulated instance. */
export interface SimulatedLimits {
  /** @default 100 */
  readonly callsPerWindow: number;
  /** @default 20_000 */
  readonly windowMs: number;
  /** @default 10 */
  readonly concurrentCalls: number;
  /** @default 50_000 */
  readonly dailyQuota: number;
}

/** Marketo's documented limits, the contract's (functions/contract/marketo-limits.ts), never a copy. */
export const MARKETO_LIMITS: SimulatedLimits = Object.freeze({
  callsPerWindow: MARKETO_DEFAULT_LIMITS.callsPerWindow,
  windowMs: MARKETO_DEFAULT_LIMITS.rateWindowMs,
  concurrentCalls: MARKETO_DEFAULT_LIMITS.concurrentCalls,
  dailyQuota: MARKETO_DEFAULT_LIMITS.dailyQuota,
});

export type LimitCode = '606' | '607' | '615';

/** Marketo's own messages (606 names the configured limit and window, as Marketo's does). */
export const limitMessage = (code: LimitCode, limits: SimulatedLimits = MARKETO_LIMITS): string => {
  switch (code) {
    case '606':
      return `Max rate limit '${limits.callsPerWindow}' exceeded with in '${Math.round(limits.windowMs / 1000)}' secs`;
    case '607':
      return 'Daily quota reached';
    case '615':
      return 'Concurrent access limit reached';
  }
};

/** What the simulator saw, for tests and benchmarks. */
export interface LimitCounters {
  readonly accepted: number;
  readonly refused606: number;
  readonly refused615: number;
  readonly refused607: number;
  /** Most calls in flight at once. */
  readonly peakConcurrent: number;
  /** Most accepted calls seen inside one rolling window. */
  readonly peakWindowCalls: number;
}

/** One instance's limit state: admit a call (and later let it leave), or refuse it with a code. */
export class MarketoLimiter {
  readonly limits: SimulatedLimits;
  readonly #now: () => number;
  /** Accepted call arrival times inside the window, oldest first. */
  #window: number[] = [];
  #inFlight = 0;
  #day = '';
  #dayCount = 0;
  #counters = {
    accepted: 0,
    refused606: 0,
    refused615: 0,
    refused607: 0,
    peakConcurrent: 0,
    peakWindowCalls: 0,
  };

  constructor(limits: Partial<SimulatedLimits>, now: () => number) {
    this.limits = { ...MARKETO_LIMITS, ...limits };
    this.#now = now;
  }

  /** Admits a call (call `leave` when its answer is sent) or returns the refusal. */
  enter(): { readonly leave: () => void } | { readonly refused: LimitCode } {
    const now = this.#now();
    const day = quotaDay(now);
    if (day !== this.#day) {
      this.#day = day;
      this.#dayCount = 0;
    }
    while (this.#window.length > 0 && (this.#window[0] as number) <= now - this.limits.windowMs)
      this.#window.shift();
    if (this.#dayCount >= this.limits.dailyQuota) return this.#refuse('607');
    if (this.#window.length >= this.limits.callsPerWindow) return this.#refuse('606');
    if (this.#inFlight >= this.limits.concurrentCalls) return this.#refuse('615');
    this.#window.push(now);
    this.#dayCount += 1;
    this.#inFlight += 1;
    const c = this.#counters;
    c.accepted += 1;
    c.peakConcurrent = Math.max(c.peakConcurrent, this.#inFlight);
    c.peakWindowCalls = Math.max(c.peakWindowCalls, this.#window.length);
    let left = false;
    return {
      leave: () => {
        if (left) return;
        left = true;
        this.#inFlight -= 1;
      },
    };
  }

  /** Uses up `calls` of today's quota at once (to show what consumers see when it runs out). */
  spendDailyQuota(calls: number): void {
    const day = quotaDay(this.#now());
    if (day !== this.#day) {
      this.#day = day;
      this.#dayCount = 0;
    }
    this.#dayCount = Math.min(this.limits.dailyQuota, this.#dayCount + calls);
  }

  counters(): LimitCounters {
    return { ...this.#counters };
  }

  resetCounters(): void {
    this.#counters = {
      accepted: 0,
      refused606: 0,
      refused615: 0,
      refused607: 0,
      peakConcurrent: 0,
      peakWindowCalls: 0,
    };
  }

  #refuse(code: LimitCode): { readonly refused: LimitCode } {
    if (code === '606') this.#counters.refused606 += 1;
    else if (code === '615') this.#counters.refused615 += 1;
    else this.#counters.refused607 += 1;
    return { refused: code };
  }
}
