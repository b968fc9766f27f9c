/**
 * What consumers report they saw from Marketo (606/615/607), and what the vendor then asks Marketo itself.
 *
 * A 606 or 615 slows everyone down for a window: it costs a quarter of the rate for 20 s, never a block. A
 * 607 would close the instance for every team until midnight in Chicago, so no single consumer's word does
 * that (issue 22): the vendor asks Marketo (`GET /rest/v1/stats/usage.json`, one call under a permit of its
 * own, at most once per `confirmIntervalMs` per instance) and closes the day only when Marketo answers its
 * own call with 607. The same read, at most once per `reconcileIntervalMs`, brings the daily count up to
 * what Marketo counted, integrations outside the vendor included (issue 27).
 */

import type { InstanceLimits } from '../../contract/index.js';
import type { Clock, Logger } from '../ports.js';
import type { BudgetConfig, BudgetContext, InstanceBudget, MarketoLimitCode } from './budget-api.js';
import { VENDOR_HOLDER } from './holder.js';
import { effectiveLimits } from './limits.js';
import type { BudgetMetricName, BudgetStore, MarketoDayUsage, MarketoUsageReader } from './ports.js';
import { type BudgetState, emptyState, prune } from './state.js';

/** Longest the vendor waits for a permit of its own before giving up on asking Marketo. */
const PROBE_PERMIT_WAIT_MS = 10_000;

export interface MarketoReportsDeps {
  readonly store: BudgetStore;
  readonly clock: Clock;
  readonly config: BudgetConfig;
  readonly logger?: Logger;
  readonly metric: (name: BudgetMetricName) => void;
  readonly limitsOf: (instance: string, state: BudgetState | undefined) => InstanceLimits;
  readonly expireAt: () => number;
  /** The budget's own permits: the vendor's usage read is a Marketo call like any other. */
  readonly acquire: InstanceBudget['acquire'];
  readonly release: InstanceBudget['release'];
}

const REPORT_METRICS: Record<MarketoLimitCode, BudgetMetricName> = {
  '606': 'MarketoRateLimited606',
  '615': 'MarketoConcurrencyLimited615',
  '607': 'MarketoDailyQuota607',
};

export function createMarketoReports(deps: MarketoReportsDeps) {
  const { store, clock, config } = deps;

  /** Read-modify-write of an instance's state with a compare-and-swap; `change` returns undefined to skip. */
  const update = async (
    instance: string,
    change: (state: BudgetState, now: number) => BudgetState | undefined,
  ): Promise<boolean> => {
    for (let attempt = 0; attempt < config.maxConflicts; attempt += 1) {
      const now = clock.now();
      const stored = await store.get(instance);
      const effective = effectiveLimits(deps.limitsOf(instance, stored));
      const state = prune(stored ?? emptyState(instance, now), effective, config.timing, now);
      const next = change(state, now);
      if (next === undefined) return false;
      const base = stored?.version ?? 0;
      if (await store.save({ ...next, version: base + 1 }, base, deps.expireAt())) return true;
    }
    return false;
  };

  /**
   * Takes the instance's next usage read of one purpose if no vendor instance did within `intervalMs` (one
   * compare-and-swap, whichever Lambda comes first).
   */
  const claimRead = (
    instance: string,
    purpose: 'reconciledAt' | 'confirmedAt',
    intervalMs: number,
  ): Promise<boolean> =>
    update(instance, (state, now) => {
      const last = state[purpose];
      return last !== undefined && now - last < intervalMs ? undefined : { ...state, [purpose]: now };
    });

  /** Asks Marketo under a permit of the vendor's own; undefined when no permit came or Marketo could not say. */
  const read = async (instance: string, reader: MarketoUsageReader): Promise<MarketoDayUsage | undefined> => {
    let permitId: string;
    try {
      permitId = (
        await deps.acquire(instance, { maxWaitMs: PROBE_PERMIT_WAIT_MS }, { holder: VENDOR_HOLDER })
      ).permitId;
    } catch {
      return undefined;
    }
    try {
      deps.metric('MarketoUsageReads');
      return await reader();
    } catch (error) {
      deps.metric('MarketoUsageReadFailures');
      deps.logger?.warn('Marketo usage read failed', {
        instance,
        errorName: error instanceof Error ? error.name : typeof error,
      });
      return undefined;
    } finally {
      await deps.release(instance, permitId, { holder: VENDOR_HOLDER });
    }
  };

  /** Writes what Marketo said: the day closed, or its count (the daily count never stays below it). */
  const apply = (instance: string, usage: MarketoDayUsage): Promise<boolean> =>
    update(instance, (state, now) =>
      usage.kind === 'exhausted'
        ? { ...state, exhaustedDay: state.day }
        : {
            ...state,
            dayCount: Math.max(state.dayCount, usage.calls),
            marketoCount: usage.calls,
            marketoCountAt: now,
          },
    );

  /** Reads and applies Marketo's usage if no vendor instance did for this purpose within `intervalMs`. */
  const readAndApply = async (
    instance: string,
    reader: MarketoUsageReader,
    purpose: 'reconciledAt' | 'confirmedAt',
    intervalMs: number,
  ): Promise<MarketoDayUsage | undefined> => {
    if (!(await claimRead(instance, purpose, intervalMs))) return undefined;
    const usage = await read(instance, reader);
    if (usage !== undefined) await apply(instance, usage);
    return usage;
  };

  /** A consumer saw 606/615 (slow everyone down for a window) or 607 (close the day once Marketo confirms). */
  const report = async (instance: string, code: MarketoLimitCode, context: BudgetContext = {}) => {
    deps.metric(REPORT_METRICS[code]);
    if (code === '607') {
      // Without a way to ask Marketo, a single consumer's word never closes the day for everyone.
      if (context.readUsage === undefined) return;
      const usage = await readAndApply(instance, context.readUsage, 'confirmedAt', config.confirmIntervalMs);
      if (usage?.kind === 'exhausted') deps.metric('MarketoDailyQuota607Confirmed');
      return;
    }
    await update(instance, (state, now) => {
      const until = now + effectiveLimits(deps.limitsOf(instance, state)).rateWindowMs;
      return code === '606' ? { ...state, slowUntil: until } : { ...state, narrowUntil: until };
    });
  };

  /** This process's next look at whether an instance is due for reconciliation (no store read before). */
  const nextLook = new Map<string, number>();

  /**
   * Brings the daily count up to what Marketo counted, at most once per `reconcileIntervalMs` per instance
   * (whichever vendor instance claims it first asks; the others skip without a Marketo call). A process
   * looks first after serving the instance for an interval: a short-lived one never adds a call.
   */
  const reconcileIfDue = async (instance: string, reader: MarketoUsageReader | undefined): Promise<void> => {
    if (reader === undefined) return;
    const now = clock.now();
    const look = nextLook.get(instance);
    if (look === undefined) nextLook.set(instance, now + config.reconcileIntervalMs);
    if (look === undefined || look > now) return;
    nextLook.set(instance, now + config.reconcileIntervalMs);
    try {
      await readAndApply(instance, reader, 'reconciledAt', config.reconcileIntervalMs);
    } catch (error) {
      // Reconciliation is best effort: a store failure here must not fail the consumer's permit.
      deps.logger?.warn('budget reconciliation failed', {
        instance,
        errorName: error instanceof Error ? error.name : typeof error,
      });
    }
  };

  return { report, reconcileIfDue };
}
