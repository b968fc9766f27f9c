import type { BulkKind } from '../../contract/index.js';
import type { PermitHolder } from '../budget/holder.js';
import type { BulkState } from './state.js';

/**
 * Shared, strongly consistent store of instances' Bulk API slots (an item per instance in the budget table
 * in AWS). Every change is a compare-and-swap on `version`.
 */
export interface BulkSlotStore {
  /** Strongly consistent read; `undefined` when the instance has no item yet. */
  get(instance: string): Promise<BulkState | undefined>;
  /**
   * Writes `next` (whose `version` is `expectedVersion + 1`) only if the item is still at `expectedVersion`
   * (0: must not exist). Returns false when someone else wrote first.
   */
  save(next: BulkState, expectedVersion: number, expireItemAtSeconds: number): Promise<boolean>;
  /** Every instance's item, for operators; not used on the slot path. */
  list(): AsyncIterable<BulkState>;
}

/** Metric names of the Bulk API slots (documented in docs/operations.md). */
export type BulkMetricName =
  | 'BulkSlotsGranted'
  | 'BulkSlotsWaited'
  | 'BulkSlotsReclaimed'
  | 'BulkSlotsUnmetered'
  | 'BulkExportBytes'
  | 'DailyExportQuotaUsedPercent'
  | 'DailyExportQuotaRefusals';

export interface BulkMetrics {
  record(name: BulkMetricName, value: number, unit: 'Count' | 'Percent' | 'Bytes'): void;
}

/** A job's end as attributed to its consumer: where per-consumer usage is recorded. */
export interface BulkJobEnd {
  readonly instance: string;
  readonly kind: BulkKind;
  /** Who held the slot and reported its end: the client (or pool) and the calling principal. */
  readonly holder: PermitHolder;
  /** Bytes of the extracted file (0 for an import, a failed or a cancelled job). */
  readonly bytes: number;
  /** Quota day (`YYYY-MM-DD`, Chicago). */
  readonly day: string;
  /** How long the slot was held, ms. */
  readonly heldMs: number;
}

/**
 * Records who used the Bulk API: told once per job end the vendor counted. Per-consumer usage (issue 27,
 * "usage per consumer") plugs in here. @default none
 */
export type BulkUsageSink = (end: BulkJobEnd) => void | Promise<void>;
