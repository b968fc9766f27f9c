import { BULK_KINDS, type BulkKind, type BulkUsage, quotaDay } from '../../contract/index.js';
import type { EffectiveBulkLimits } from './limits.js';

/** Who holds a slot: the client (or pool) it was taken through and the calling principal. */
export interface BulkHolder {
  /** `c:<clientId>` or `p:<instance>`. */
  readonly client: string;
  /** The caller (API Gateway's `userArn`; local mode's key principal). */
  readonly principal: string;
}

/** One slot lease: a place in Marketo's queue of one kind, held from before the enqueue to the job's end. */
export interface BulkSlotLease extends BulkHolder {
  readonly kind: BulkKind;
  /** Epoch ms the slot was granted. */
  readonly since: number;
  /** Epoch ms the lease lapses unless renewed: a consumer that died gives its place back then. */
  readonly until: number;
  /** Extract: bytes the job expects to add to the day's count, held against the quota until its end. */
  readonly expectedBytes: number;
}

/** One instance's Bulk API slots as stored (one item per instance). */
export interface BulkState {
  /** The instance key: REST host (or Identity host), as the budget's. */
  readonly instance: string;
  /** Incremented by every write; every change is a compare-and-swap on it. 0: no item yet. */
  readonly version: number;
  /** Slots held: slot id → lease. */
  readonly slots: Readonly<Record<string, BulkSlotLease>>;
  /**
   * Slots whose lease lapsed on this quota day before their end was reported: a late report still counts
   * the job's bytes, once. Bounded ({@link MAX_LAPSED}), the oldest dropped first.
   */
  readonly lapsed: Readonly<Record<string, BulkSlotLease>>;
  /** Quota day (`YYYY-MM-DD`, Chicago) the counts below count. */
  readonly day: string;
  /** Bytes of extracted files reported on this day. */
  readonly exportBytes: number;
  /** Jobs whose end was reported on this day, per kind. */
  readonly jobsEnded: Readonly<Record<BulkKind, number>>;
}

/** How slots are timed. */
export interface BulkTiming {
  /** Lease of a slot when the request names none. @default 120_000 */
  readonly defaultLeaseMs: number;
  readonly minLeaseMs: number;
  /** A job runs for hours at most; a slot is renewed, never leased for longer than this. @default 3_600_000 */
  readonly maxLeaseMs: number;
  /** A consumer waiting for a slot asks again after at most this (ends are reported any time). @default 1_000 */
  readonly pollMs: number;
}

export const DEFAULT_BULK_TIMING: BulkTiming = Object.freeze({
  defaultLeaseMs: 120_000,
  minLeaseMs: 5_000,
  maxLeaseMs: 3_600_000,
  pollMs: 1_000,
});

/** Lapsed leases remembered per day for late reports. */
export const MAX_LAPSED = 50;

/** A slot request, validated. */
export interface BulkAsk {
  readonly kind: BulkKind;
  readonly leaseMs: number;
  readonly expectedBytes: number;
  readonly holder: BulkHolder;
}

export type BulkDecision =
  | {
      readonly kind: 'grant';
      readonly next: BulkState;
      readonly lease: BulkSlotLease;
      readonly usage: BulkUsage;
    }
  | {
      readonly kind: 'wait';
      /** `slots`: every place of the kind is held; `export-quota`: the jobs in flight may use up the day. */
      readonly reason: 'slots' | 'export-quota';
      readonly retryAfterMs: number;
      readonly usage: BulkUsage;
    }
  | { readonly kind: 'exhausted'; readonly usage: BulkUsage };

const noJobs = (): Record<BulkKind, number> => ({ extract: 0, import: 0 });

export const emptyBulkState = (instance: string, now: number): BulkState => ({
  instance,
  version: 0,
  slots: {},
  lapsed: {},
  day: quotaDay(now),
  exportBytes: 0,
  jobsEnded: noJobs(),
});

/** Lapsed leases move to `lapsed` (their places are free again); a new quota day starts its counts at 0. */
export function pruneBulk(state: BulkState, now: number): BulkState {
  const day = quotaDay(now);
  const fresh = state.day !== day;
  const slots: Record<string, BulkSlotLease> = {};
  const lapsed: Record<string, BulkSlotLease> = fresh ? {} : { ...state.lapsed };
  for (const [id, lease] of Object.entries(state.slots)) {
    if (lease.until > now) slots[id] = lease;
    else lapsed[id] = lease;
  }
  const kept = Object.entries(lapsed)
    .sort(([, a], [, b]) => b.until - a.until)
    .slice(0, MAX_LAPSED);
  return {
    ...state,
    slots,
    lapsed: Object.fromEntries(kept),
    ...(fresh ? { day, exportBytes: 0, jobsEnded: noJobs() } : {}),
  };
}

const held = (state: BulkState, kind: BulkKind): BulkSlotLease[] =>
  Object.values(state.slots).filter((lease) => lease.kind === kind);

export function bulkUsageOf(state: BulkState, limits: EffectiveBulkLimits): BulkUsage {
  const slots = Object.fromEntries(
    BULK_KINDS.map((kind) => [kind, { inUse: held(state, kind).length, limit: limits.slots[kind] }]),
  ) as Record<BulkKind, { inUse: number; limit: number }>;
  return {
    slots,
    exportBytes: state.exportBytes,
    exportBytesExpected: held(state, 'extract').reduce((sum, lease) => sum + lease.expectedBytes, 0),
    exportDailyBytes: limits.exportDailyBytes,
    jobsEnded: { ...state.jobsEnded },
  };
}

/** Whether the day's export quota is used up by what was reported. */
export const exportQuotaReached = (state: BulkState, limits: EffectiveBulkLimits): boolean =>
  state.exportBytes >= limits.exportDailyBytes;

/**
 * The one decision of an ask: a slot now, a wait (how long), or the day's export quota used up. Pure: the
 * caller writes `next` with a compare-and-swap on `stored.version`.
 *
 * An extract slot is granted while the bytes reported today plus what the jobs in flight expect stay below
 * the quota: Marketo refuses a create or enqueue only once the day's files reached it, and a job it
 * accepted runs to its end, so this job's own size does not matter, but the others' may finish first.
 */
export function decideBulkSlot(
  stored: BulkState,
  ask: BulkAsk,
  slotId: string,
  limits: EffectiveBulkLimits,
  timing: BulkTiming,
  now: number,
): BulkDecision {
  const state = pruneBulk(stored, now);
  const usage = bulkUsageOf(state, limits);
  if (ask.kind === 'extract' && exportQuotaReached(state, limits)) return { kind: 'exhausted', usage };
  const mine = held(state, ask.kind);
  if (mine.length >= limits.slots[ask.kind]) {
    const soonest = Math.min(...mine.map((lease) => lease.until));
    return {
      kind: 'wait',
      reason: 'slots',
      retryAfterMs: Math.max(1, Math.min(soonest - now, timing.pollMs)),
      usage,
    };
  }
  if (ask.kind === 'extract' && state.exportBytes + usage.exportBytesExpected >= limits.exportDailyBytes) {
    return { kind: 'wait', reason: 'export-quota', retryAfterMs: timing.pollMs, usage };
  }
  const lease: BulkSlotLease = {
    ...ask.holder,
    kind: ask.kind,
    since: now,
    until: now + ask.leaseMs,
    expectedBytes: ask.kind === 'extract' ? ask.expectedBytes : 0,
  };
  const next: BulkState = {
    ...state,
    version: stored.version + 1,
    slots: { ...state.slots, [slotId]: lease },
  };
  return { kind: 'grant', next, lease, usage: bulkUsageOf(next, limits) };
}

const sameHolder = (a: BulkHolder, b: BulkHolder): boolean =>
  a.client === b.client && a.principal === b.principal;

export type RenewDecision =
  | { readonly kind: 'renewed'; readonly next: BulkState; readonly lease: BulkSlotLease }
  /** Not held by this holder: another's, unknown, or lapsed while its place was taken by someone else. */
  | { readonly kind: 'not-held'; readonly reason: 'unknown' | 'other-holder' | 'lapsed' };

/**
 * A holder keeps its slot for another `leaseMs`. A lease that lapsed (a long pause, not a death) comes back
 * while its kind still has a free place; the job may still be running at Marketo.
 */
export function decideRenew(
  stored: BulkState,
  slotId: string,
  holder: BulkHolder,
  leaseMs: number,
  limits: EffectiveBulkLimits,
  now: number,
): RenewDecision {
  const state = pruneBulk(stored, now);
  const current = state.slots[slotId];
  const lapsed = state.lapsed[slotId];
  const lease = current ?? lapsed;
  if (lease === undefined) return { kind: 'not-held', reason: 'unknown' };
  if (!sameHolder(lease, holder)) return { kind: 'not-held', reason: 'other-holder' };
  if (current === undefined && held(state, lease.kind).length >= limits.slots[lease.kind]) {
    return { kind: 'not-held', reason: 'lapsed' };
  }
  const renewed: BulkSlotLease = { ...lease, until: now + leaseMs };
  const { [slotId]: _back, ...stillLapsed } = state.lapsed;
  return {
    kind: 'renewed',
    next: {
      ...state,
      version: stored.version + 1,
      slots: { ...state.slots, [slotId]: renewed },
      lapsed: stillLapsed,
    },
    lease: renewed,
  };
}

export type EndDecision =
  | {
      readonly kind: 'ended';
      readonly next: BulkState;
      readonly lease: BulkSlotLease;
      readonly countedBytes: number;
    }
  /** Nothing held under this id (already reported, or never granted): nothing to count. */
  | { readonly kind: 'unknown' }
  | { readonly kind: 'other-holder' };

/**
 * A job's end: its slot is given back and, for an extract, the bytes its file held are added to the day's
 * count (Marketo meters a job's file when it completes). A lapsed slot's late report still counts, once.
 */
export function decideEnd(
  stored: BulkState,
  slotId: string,
  holder: BulkHolder,
  bytes: number,
  now: number,
): EndDecision {
  const state = pruneBulk(stored, now);
  const lease = state.slots[slotId] ?? state.lapsed[slotId];
  if (lease === undefined) return { kind: 'unknown' };
  if (!sameHolder(lease, holder)) return { kind: 'other-holder' };
  const { [slotId]: _held, ...slots } = state.slots;
  const { [slotId]: _lapsed, ...lapsed } = state.lapsed;
  const countedBytes = lease.kind === 'extract' ? bytes : 0;
  return {
    kind: 'ended',
    lease,
    countedBytes,
    next: {
      ...state,
      version: stored.version + 1,
      slots,
      lapsed,
      exportBytes: state.exportBytes + countedBytes,
      jobsEnded: { ...state.jobsEnded, [lease.kind]: state.jobsEnded[lease.kind] + 1 },
    },
  };
}
