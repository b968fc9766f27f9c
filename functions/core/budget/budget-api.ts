import type { InstanceLimits } from '../../contract/index.js';
import type { Clock, Logger } from '../ports.js';
import type { BudgetMetrics, BudgetStore } from './ports.js';
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
  /** Compare-and-swap attempts before answering "retry later". @default 40 */
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
  maxConflicts: 40,
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
