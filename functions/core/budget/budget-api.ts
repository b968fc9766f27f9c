import type { InstanceLimits, LimitsByInstance } from '../../contract/index.js';
import type { Clock, Logger } from '../ports.js';
import type { PermitHolder } from './holder.js';
import type { BudgetMetrics, BudgetStore, MarketoUsageReader } from './ports.js';
import { type BudgetTiming, type BudgetUsage, DEFAULT_TIMING } from './state.js';

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

/** Who is asking, and how the vendor can ask Marketo about the instance on their behalf. */
export interface BudgetContext {
  /** The caller: leases are bound to it and counted against its client's share. @default nobody in particular */
  readonly holder?: PermitHolder;
  /** Reads Marketo's own count (a 607 is confirmed with it, the daily count reconciled). @default none */
  readonly readUsage?: MarketoUsageReader;
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
  /** What Marketo counted today at its last read (usage.json), every integration of the instance included. */
  readonly marketo?: { readonly calls: number; readonly at: number };
}

export interface BudgetConfig {
  readonly timing: BudgetTiming;
  /** @default 15_000 */
  readonly defaultLeaseMs: number;
  /** @default 60_000 */
  readonly maxLeaseMs: number;
  /** Longest wait a request may ask for inside the vendor. @default 20_000 */
  readonly maxWaitMs: number;
  /** Compare-and-swap attempts before answering "retry later". @default 40 */
  readonly maxConflicts: number;
  /** A reported 607 is checked with Marketo at most this often per instance. @default 30_000 */
  readonly confirmIntervalMs: number;
  /** The daily count is brought up to Marketo's own at most this often per instance. @default 300_000 */
  readonly reconcileIntervalMs: number;
  /**
   * When the store cannot be read or written: `open` grants unmetered permits (Marketo still enforces its
   * limits and clients back off on 606/615), `closed` refuses with 503. @default 'open'
   */
  readonly onStoreFailure: 'open' | 'closed';
  /** Limits per instance key from the deployment (construct config); an operator's CLI override wins. */
  readonly limits: LimitsByInstance<InstanceLimits>;
}

export const DEFAULT_BUDGET_CONFIG: BudgetConfig = Object.freeze({
  timing: DEFAULT_TIMING,
  defaultLeaseMs: 15_000,
  maxLeaseMs: 60_000,
  maxWaitMs: 20_000,
  maxConflicts: 40,
  confirmIntervalMs: 30_000,
  reconcileIntervalMs: 300_000,
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
  acquire(instance: string, request?: PermitRequest, context?: BudgetContext): Promise<Permit>;
  /** Gives a permit's concurrency slot back; only the holder that took it can (`context.holder`). */
  release(instance: string, permitId: string, context?: BudgetContext): Promise<void>;
  /**
   * A consumer saw 606/615/607. 606/615 slow everyone down for a window; a 607 closes the day only once
   * Marketo confirms it to the vendor (`context.readUsage`): no single consumer's word blocks an instance.
   */
  report(instance: string, code: MarketoLimitCode, context?: BudgetContext): Promise<void>;
  status(instance: string): Promise<BudgetStatus>;
  setLimits(instance: string, override: Partial<InstanceLimits> | undefined): Promise<InstanceLimits>;
  listStatus(): Promise<BudgetStatus[]>;
}
