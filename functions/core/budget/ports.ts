import type { InstanceLimits } from '../../contract/index.js';
import type { BudgetState } from './state.js';

/**
 * Shared, strongly consistent store of instance budgets (a DynamoDB table beside the token table in AWS).
 * Every change except a release is a compare-and-swap on `version`.
 */
export interface BudgetStore {
  /** Strongly consistent read; `undefined` when the instance has no item yet. */
  get(instance: string): Promise<BudgetState | undefined>;
  /**
   * Writes `next` (whose `version` is `expectedVersion + 1`) only if the item is still at `expectedVersion`
   * (0: must not exist). Returns false when someone else wrote first.
   */
  save(next: BudgetState, expectedVersion: number, expireItemAtSeconds: number): Promise<boolean>;
  /** Drops one concurrency lease without reading (one write); bumps the version so racing saves retry. */
  release(instance: string, permitId: string): Promise<void>;
  /** Sets (or with `undefined`, clears) the operator's limit override of an instance. */
  setLimits(
    instance: string,
    limits: Partial<InstanceLimits> | undefined,
    expireItemAtSeconds: number,
  ): Promise<void>;
  /** Every instance's item, for operators; not used on the permit path. */
  list(): AsyncIterable<BudgetState>;
}

/** What Marketo counted today for an instance (`GET /rest/v1/stats/usage.json`). */
export type MarketoDayUsage =
  | {
      readonly kind: 'counted';
      /** Calls Marketo counted today, by every integration of the instance. */
      readonly calls: number;
      /** Per API-only user (the Identity `scope`), as Marketo reports them. */
      readonly users: ReadonlyArray<{ readonly userId: string; readonly calls: number }>;
    }
  /** Marketo answered the vendor's own call with 607: the day's quota is used up. */
  | { readonly kind: 'exhausted' };

/**
 * Reads the instance's usage from Marketo with one REST call (the permit service builds it from the
 * caller's client or pool). The budget calls it under a permit of its own; it throws when Marketo cannot be
 * asked (no token, network, an answer without usage).
 */
export type MarketoUsageReader = () => Promise<MarketoDayUsage>;

/** Metric names of the budget (documented in docs/operations.md). */
export type BudgetMetricName =
  | 'PermitsGranted'
  | 'PermitsWaited'
  | 'PermitsRefused'
  | 'PermitsUnmetered'
  | 'PermitConflicts'
  | 'BudgetStoreErrors'
  | 'DailyQuotaUsedPercent'
  | 'MarketoRateLimited606'
  | 'MarketoConcurrencyLimited615'
  | 'MarketoDailyQuota607'
  | 'MarketoDailyQuota607Confirmed'
  | 'MarketoUsageReads'
  | 'MarketoUsageReadFailures';

export interface BudgetMetrics {
  record(name: BudgetMetricName, value: number, unit: 'Count' | 'Percent'): void;
}
