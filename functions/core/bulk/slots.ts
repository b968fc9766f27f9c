import { randomUUID } from 'node:crypto';
import {
  BULK_KINDS,
  type BulkKind,
  type BulkLimits,
  type BulkUsage,
  type LimitsByInstance,
  nextQuotaReset,
} from '../../contract/index.js';
import { holderClient, type PermitHolder } from '../budget/holder.js';
import { InvalidRequestError, StoreUnavailableError } from '../errors.js';
import type { Clock, Logger } from '../ports.js';
import { BulkSlotNotHeldError, BulkSlotUnavailableError, DailyExportQuotaExhaustedError } from './errors.js';
import { type EffectiveBulkLimits, effectiveBulkLimits, resolveBulkLimits } from './limits.js';
import type { BulkMetrics, BulkSlotStore, BulkUsageSink } from './ports.js';
import {
  type BulkHolder,
  type BulkState,
  type BulkTiming,
  bulkUsageOf,
  DEFAULT_BULK_TIMING,
  decideBulkSlot,
  decideEnd,
  decideRenew,
  emptyBulkState,
  exportQuotaReached,
  pruneBulk,
} from './state.js';

/** What a consumer asks for before it creates (or enqueues) a Bulk API job. */
export interface BulkSlotRequest {
  readonly kind: BulkKind;
  /** The slot comes back by itself after this unless renewed. @default timing.defaultLeaseMs (120 s) */
  readonly leaseMs?: number;
  /**
   * Extract: bytes the job is expected to export (a previous run's size), held against the day's quota
   * until its end is reported. @default 0
   */
  readonly expectedBytes?: number;
}

/** A granted (or renewed) slot. */
export interface BulkSlot {
  /** Pass to renew and to report the end; `unmetered` when nothing was recorded. */
  readonly slotId: string;
  readonly instance: string;
  readonly kind: BulkKind;
  /** Epoch ms the slot lapses unless renewed. */
  readonly leaseUntil: number;
  /** True when the slots are off or their store failed open: nothing was counted. */
  readonly unmetered: boolean;
  readonly usage?: BulkUsage;
  /** Epoch ms of the next daily export quota reset. */
  readonly resetsAt: number;
}

/** What a reported end did. */
export interface BulkEnd {
  /** False when no slot was held under the id (already reported): nothing was counted. */
  readonly released: boolean;
  readonly countedBytes: number;
  readonly usage?: BulkUsage;
}

/** An instance's slots for operators (`instances status`). */
export interface BulkStatus {
  readonly instance: string;
  readonly limits: BulkLimits;
  readonly usage: BulkUsage;
  /** Slots held, by holder (client and principal), for operators. */
  readonly holders: ReadonlyArray<BulkHolder & { readonly kind: BulkKind; readonly until: number }>;
  readonly resetsAt: number;
  readonly exportQuotaReached: boolean;
}

export interface BulkSlotsConfig {
  /** Off: every slot is handed out unmetered (no budget table is configured). @default true */
  readonly enabled: boolean;
  readonly timing: BulkTiming;
  /** Compare-and-swap attempts before answering "retry later". @default 20 */
  readonly maxConflicts: number;
  /** As the budget's: `open` hands out unmetered slots when the store fails, `closed` answers 503. @default 'open' */
  readonly onStoreFailure: 'open' | 'closed';
  /** Limits per instance key, or `default`; Marketo's documented values otherwise. */
  readonly limits: LimitsByInstance<BulkLimits>;
}

export const DEFAULT_BULK_SLOTS_CONFIG: BulkSlotsConfig = Object.freeze({
  enabled: true,
  timing: DEFAULT_BULK_TIMING,
  maxConflicts: 20,
  onStoreFailure: 'open' as const,
  limits: {},
});

export interface BulkSlotsDeps {
  readonly store: BulkSlotStore;
  readonly clock: Clock;
  readonly metrics?: BulkMetrics;
  readonly logger?: Logger;
  /** Told of every job end the vendor counted (per-consumer usage). @default none */
  readonly usage?: BulkUsageSink;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default randomUUID */
  readonly newSlotId?: () => string;
}

export interface BulkSlots {
  /** A place for `holder` (the client or pool it asks through, and the calling principal). */
  acquire(instance: string, request: BulkSlotRequest, holder: PermitHolder): Promise<BulkSlot>;
  /** Only the holder that took the slot renews it. */
  renew(instance: string, slotId: string, holder: PermitHolder, leaseMs?: number): Promise<BulkSlot>;
  /**
   * The job ended (completed, failed or cancelled) with `bytes` in its file: its slot is given back. Only the
   * holder that took the slot reports its end.
   */
  end(instance: string, slotId: string, holder: PermitHolder, bytes: number): Promise<BulkEnd>;
  status(instance: string): Promise<BulkStatus>;
  listStatus(): Promise<BulkStatus[]>;
}

export const UNMETERED_SLOT = 'unmetered';

/** How a lease names its holder: the client key (`c:<clientId>` / `p:<instance>`) and the principal. */
const bulkHolderOf = (caller: PermitHolder): BulkHolder => ({
  client: holderClient(caller),
  principal: caller.principal,
});
/** Items outlive the quota day they count; DynamoDB TTL removes idle instances. */
const ITEM_LIFETIME_SECONDS = 2 * 86_400;
const MAX_BYTES = 1_000_000_000_000;

/** The Bulk API slots of every instance: decisions in `state.ts`, consistency by compare-and-swap. */
export function createBulkSlots(deps: BulkSlotsDeps, overrides: Partial<BulkSlotsConfig> = {}): BulkSlots {
  const config: BulkSlotsConfig = { ...DEFAULT_BULK_SLOTS_CONFIG, ...overrides };
  const { store, clock, timing } = { ...deps, timing: config.timing };
  const random = deps.random ?? Math.random;
  const newSlotId = deps.newSlotId ?? randomUUID;
  const metric = (
    name: Parameters<BulkMetrics['record']>[0],
    value = 1,
    unit: 'Count' | 'Percent' | 'Bytes' = 'Count',
  ) => deps.metrics?.record(name, value, unit);
  const expireAt = () => Math.ceil(clock.now() / 1000) + ITEM_LIFETIME_SECONDS;

  const limitsOf = (instance: string): BulkLimits =>
    resolveBulkLimits(config.limits[instance] ?? {}, resolveBulkLimits(config.limits.default ?? {}));

  const leaseOf = (leaseMs: number | undefined): number => {
    const value = leaseMs ?? timing.defaultLeaseMs;
    if (!Number.isInteger(value) || value < timing.minLeaseMs || value > timing.maxLeaseMs) {
      throw new InvalidRequestError(
        `leaseMs must be a whole number from ${timing.minLeaseMs} to ${timing.maxLeaseMs}`,
      );
    }
    return value;
  };

  const unmetered = (instance: string, kind: BulkKind, leaseMs: number, now: number): BulkSlot => ({
    slotId: UNMETERED_SLOT,
    instance,
    kind,
    leaseUntil: now + leaseMs,
    unmetered: true,
    resetsAt: nextQuotaReset(now),
  });

  /** The store failed: `open` goes on without coordination (Marketo still enforces its queue), `closed` refuses. */
  const storeFailed = (error: unknown, instance: string): void => {
    deps.logger?.warn('bulk slot store unavailable', {
      instance,
      mode: config.onStoreFailure,
      errorName: error instanceof Error ? error.name : typeof error,
    });
    if (config.onStoreFailure === 'closed') {
      throw new StoreUnavailableError('the Bulk API slot store is unavailable; retry shortly', {
        cause: error,
        retryAfterSeconds: 1,
      });
    }
  };

  /**
   * Read, decide, write with a compare-and-swap; a lost race reads again after a random pause that grows.
   * `decide` returns the state to write (or none) and the outcome. Throws `undefined`-free store errors.
   */
  const transact = async <R>(
    instance: string,
    decide: (state: BulkState, stored: BulkState | undefined, now: number) => { next?: BulkState; result: R },
  ): Promise<R> => {
    for (let conflicts = 0; ; conflicts += 1) {
      const now = clock.now();
      const stored = await store.get(instance);
      const { next, result } = decide(stored ?? emptyBulkState(instance, now), stored, now);
      if (next === undefined) return result;
      if (await store.save(next, stored?.version ?? 0, expireAt())) return result;
      if (conflicts + 1 >= config.maxConflicts) {
        throw new BulkSlotUnavailableError('extract', 'contention', 50 + Math.floor(random() * 200));
      }
      if (conflicts > 0) await clock.sleep(Math.floor(random() * Math.min(200, 5 * 2 ** conflicts)));
    }
  };

  const acquire = async (
    instance: string,
    request: BulkSlotRequest,
    caller: PermitHolder,
  ): Promise<BulkSlot> => {
    const holder = bulkHolderOf(caller);
    if (!BULK_KINDS.includes(request.kind))
      throw new InvalidRequestError('kind must be "extract" or "import"');
    const leaseMs = leaseOf(request.leaseMs);
    const expectedBytes = request.expectedBytes ?? 0;
    if (!Number.isInteger(expectedBytes) || expectedBytes < 0 || expectedBytes > MAX_BYTES) {
      throw new InvalidRequestError(`expectedBytes must be a whole number from 0 to ${MAX_BYTES}`);
    }
    if (!config.enabled) return unmetered(instance, request.kind, leaseMs, clock.now());
    const effective = effectiveBulkLimits(limitsOf(instance));
    const slotId = newSlotId();
    let outcome: ReturnType<typeof decideBulkSlot>;
    try {
      outcome = await transact(instance, (state, _stored, now) => {
        const decision = decideBulkSlot(
          state,
          { kind: request.kind, leaseMs, expectedBytes, holder },
          slotId,
          effective,
          timing,
          now,
        );
        return { ...(decision.kind === 'grant' ? { next: decision.next } : {}), result: decision };
      });
    } catch (error) {
      if (error instanceof BulkSlotUnavailableError) throw error;
      storeFailed(error, instance);
      metric('BulkSlotsUnmetered');
      return unmetered(instance, request.kind, leaseMs, clock.now());
    }
    const now = clock.now();
    const resetsAt = nextQuotaReset(now);
    if (outcome.kind === 'exhausted') {
      metric('DailyExportQuotaRefusals');
      throw new DailyExportQuotaExhaustedError(
        resetsAt,
        now,
        outcome.usage.exportBytes,
        outcome.usage.exportDailyBytes,
      );
    }
    if (outcome.kind === 'wait') {
      metric('BulkSlotsWaited');
      throw new BulkSlotUnavailableError(request.kind, outcome.reason, outcome.retryAfterMs);
    }
    metric('BulkSlotsGranted');
    return {
      slotId,
      instance,
      kind: request.kind,
      leaseUntil: outcome.lease.until,
      unmetered: false,
      usage: outcome.usage,
      resetsAt,
    };
  };

  const renew = async (
    instance: string,
    slotId: string,
    caller: PermitHolder,
    leaseMs?: number,
  ): Promise<BulkSlot> => {
    const holder = bulkHolderOf(caller);
    const lease = leaseOf(leaseMs);
    const now = clock.now();
    if (slotId === UNMETERED_SLOT) return unmetered(instance, 'extract', lease, now);
    const effective = effectiveBulkLimits(limitsOf(instance));
    let outcome: ReturnType<typeof decideRenew>;
    try {
      outcome = await transact(instance, (state, _stored, at) => {
        const decision = decideRenew(state, slotId, holder, lease, effective, at);
        return { ...(decision.kind === 'renewed' ? { next: decision.next } : {}), result: decision };
      });
    } catch (error) {
      if (error instanceof BulkSlotUnavailableError) throw error;
      // The lease stands until it lapses; a consumer renews again well before.
      storeFailed(error, instance);
      return unmetered(instance, 'extract', lease, now);
    }
    if (outcome.kind === 'not-held') {
      throw new BulkSlotNotHeldError(
        outcome.reason === 'other-holder'
          ? 'that slot is held by another client or principal'
          : outcome.reason === 'lapsed'
            ? "the slot's lease lapsed and its place was taken; ask for a new slot"
            : 'no slot is held under that id',
      );
    }
    return {
      slotId,
      instance,
      kind: outcome.lease.kind,
      leaseUntil: outcome.lease.until,
      unmetered: false,
      usage: bulkUsageOf(outcome.next, effective),
      resetsAt: nextQuotaReset(now),
    };
  };

  const end = async (
    instance: string,
    slotId: string,
    caller: PermitHolder,
    bytes: number,
  ): Promise<BulkEnd> => {
    const holder = bulkHolderOf(caller);
    if (!Number.isInteger(bytes) || bytes < 0 || bytes > MAX_BYTES) {
      throw new InvalidRequestError(`bytes must be a whole number from 0 to ${MAX_BYTES}`);
    }
    if (slotId === UNMETERED_SLOT) return { released: true, countedBytes: 0 };
    const effective = effectiveBulkLimits(limitsOf(instance));
    let outcome: ReturnType<typeof decideEnd>;
    try {
      outcome = await transact(instance, (state, _stored, now) => {
        const decision = decideEnd(state, slotId, holder, bytes, now);
        return { ...(decision.kind === 'ended' ? { next: decision.next } : {}), result: decision };
      });
    } catch (error) {
      if (error instanceof BulkSlotUnavailableError) throw error;
      // The lease lapses by itself; the bytes go uncounted (Marketo still enforces its quota).
      storeFailed(error, instance);
      return { released: false, countedBytes: 0 };
    }
    if (outcome.kind === 'other-holder') {
      throw new BulkSlotNotHeldError('that slot is held by another client or principal');
    }
    if (outcome.kind === 'unknown') return { released: false, countedBytes: 0 };
    const usage = bulkUsageOf(outcome.next, effective);
    if (outcome.countedBytes > 0) {
      metric('BulkExportBytes', outcome.countedBytes, 'Bytes');
      metric('DailyExportQuotaUsedPercent', (100 * usage.exportBytes) / usage.exportDailyBytes, 'Percent');
    }
    if (outcome.lease.until <= clock.now()) metric('BulkSlotsReclaimed');
    try {
      await deps.usage?.({
        instance,
        kind: outcome.lease.kind,
        holder: caller,
        bytes: outcome.countedBytes,
        day: outcome.next.day,
        heldMs: Math.max(0, clock.now() - outcome.lease.since),
      });
    } catch (error) {
      deps.logger?.warn('bulk usage not recorded', {
        instance,
        errorName: error instanceof Error ? error.name : typeof error,
      });
    }
    return { released: true, countedBytes: outcome.countedBytes, usage };
  };

  const statusOf = (instance: string, stored: BulkState | undefined): BulkStatus => {
    const now = clock.now();
    const limits = limitsOf(instance);
    const effective: EffectiveBulkLimits = effectiveBulkLimits(limits);
    const state = pruneBulk(stored ?? emptyBulkState(instance, now), now);
    return {
      instance,
      limits,
      usage: bulkUsageOf(state, effective),
      holders: Object.values(state.slots).map(({ client, principal, kind, until }) => ({
        client,
        principal,
        kind,
        until,
      })),
      resetsAt: nextQuotaReset(now),
      exportQuotaReached: exportQuotaReached(state, effective),
    };
  };

  return {
    acquire,
    renew,
    end,
    status: async (instance) => statusOf(instance, await store.get(instance)),
    async listStatus() {
      const out: BulkStatus[] = [];
      for await (const state of store.list()) out.push(statusOf(state.instance, state));
      return out.sort((a, b) => a.instance.localeCompare(b.instance));
    },
  };
}
