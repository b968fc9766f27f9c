/**
 * The consumer side of the vendor's Bulk API slots: a place in the instance's Bulk Extract (or Import) queue,
 * taken before a job is created, renewed while it runs, and given back with the bytes its file held. Waits
 * when every place is held (the vendor names how long); throws `DailyExportQuotaExhausted` (with `resetsAt`)
 * when the day's export quota is used up. A vendor without slot routes (an older deployment, or no grant on
 * them) is not an error: the job goes on unmetered, Marketo still enforces its queue.
 */
import type { BulkKind, BulkUsage } from '../functions/contract/index.js';
import { isRouteUnavailable, TokenVendorClientError } from './errors.js';
import type { PermitTarget } from './permits.js';
import type { ClientClock, SignedCaller } from './signed-call.js';

/** What one slot asks for. */
export interface BulkSlotOptions {
  readonly kind: BulkKind;
  /** The place comes back by itself after this if this process dies; renewed while held. @default 120_000 */
  readonly leaseMs?: number;
  /** Extract: bytes the job is expected to export (e.g. the last run's), held against the day's quota. */
  readonly expectedBytes?: number;
  /** Longest wait for a free place before throwing `BulkSlotUnavailable`. @default 1_800_000 (30 min) */
  readonly maxWaitMs?: number;
}

/** A place held in an instance's Bulk API queue. */
export interface BulkSlotLease {
  readonly slotId: string;
  readonly kind: BulkKind;
  /** The instance key (REST host); empty when unmetered without an answer. */
  readonly instance: string;
  /** True when nothing was counted (no slot routes, or the vendor's store failed open). */
  readonly unmetered: boolean;
  /** This machine's epoch ms the lease lapses unless renewed. */
  readonly leaseExpiresAt: number;
  /** How long this client waited for the place. */
  readonly waitedMs: number;
  readonly usage?: BulkUsage;
  /** Keeps the place for another `leaseMs`. */
  renew(): Promise<void>;
  /** Renews when less than half the lease is left (cheap to call before every wait). */
  renewIfDue(): Promise<void>;
  /** The job ended (completed, failed, cancelled) with `bytes` in its file: the place is given back. */
  release(bytes?: number): Promise<void>;
}

interface SlotAnswer {
  readonly slotId?: unknown;
  readonly instance?: unknown;
  readonly leaseExpiresAt?: unknown;
  readonly unmetered?: unknown;
  readonly usage?: BulkUsage;
}

const DEFAULT_LEASE_MS = 120_000;
const DEFAULT_MAX_WAIT_MS = 1_800_000;

/** Where a target's slots are taken. */
export const bulkSlotsPathOf = (target: PermitTarget): string =>
  'clientId' in target ? `/tokens/${target.clientId}/bulk-slots` : `/instances/${target.instance}/bulk-slots`;

/** The Bulk API slot machinery of one token client. */
export function createBulkSlots(options: {
  readonly call: SignedCaller;
  readonly clock: ClientClock;
  readonly random?: () => number;
}) {
  const { call, clock } = options;
  const random = options.random ?? Math.random;
  /** After the vendor answered that slots do not exist for us (old deployment, no grant), stop asking. */
  let unavailable = false;

  const lease = (
    basePath: string,
    kind: BulkKind,
    leaseMs: number,
    waitedMs: number,
    answer: SlotAnswer | undefined,
  ): BulkSlotLease => {
    const unmetered = answer === undefined || answer.unmetered === true;
    const slotId = typeof answer?.slotId === 'string' ? answer.slotId : 'unmetered';
    let expiresAt = clock.now() + leaseMs;
    let released = false;
    const renew = async (): Promise<void> => {
      if (unmetered || released) return;
      const sentAt = clock.now();
      await call({
        method: 'POST',
        path: `${basePath}/renew`,
        query: {},
        body: { slotId, leaseMs },
        retryBudgetMs: 0,
      });
      // Counted from when the renewal left: a slow answer can only shorten it.
      expiresAt = sentAt + leaseMs;
    };
    return {
      slotId,
      kind,
      instance: typeof answer?.instance === 'string' ? answer.instance : '',
      unmetered,
      get leaseExpiresAt() {
        return expiresAt;
      },
      waitedMs,
      ...(answer?.usage === undefined ? {} : { usage: answer.usage }),
      renew,
      renewIfDue: async () => {
        if (expiresAt - clock.now() < leaseMs / 2) await renew();
      },
      release: async (bytes = 0) => {
        if (unmetered || released) return;
        released = true;
        await call({
          method: 'POST',
          path: `${basePath}/release`,
          query: {},
          body: { slotId, bytes },
          retryBudgetMs: 0,
        }).catch(() => {
          // The lease lapses by itself; the vendor then misses this job's bytes (Marketo still counts them).
        });
      },
    };
  };

  /** Takes a place, waiting (as the vendor says) while every place is held. */
  const acquire = async (target: PermitTarget, wanted: BulkSlotOptions): Promise<BulkSlotLease> => {
    const basePath = bulkSlotsPathOf(target);
    const leaseMs = wanted.leaseMs ?? DEFAULT_LEASE_MS;
    const maxWaitMs = wanted.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    const started = clock.now();
    if (unavailable) return lease(basePath, wanted.kind, leaseMs, 0, undefined);
    for (;;) {
      try {
        const { body } = await call({
          method: 'POST',
          path: basePath,
          query: {},
          body: {
            kind: wanted.kind,
            leaseMs,
            ...(wanted.expectedBytes === undefined ? {} : { expectedBytes: wanted.expectedBytes }),
          },
          retryBudgetMs: 0,
        });
        const answer = body as SlotAnswer | undefined;
        if (typeof answer?.slotId !== 'string') {
          // Not a slot API (a proxy, an old deployment answering something else): go on unmetered.
          unavailable = true;
          return lease(basePath, wanted.kind, leaseMs, clock.now() - started, undefined);
        }
        return lease(basePath, wanted.kind, leaseMs, clock.now() - started, answer);
      } catch (error) {
        if (!(error instanceof TokenVendorClientError)) throw error;
        if (error.code === 'BulkSlotUnavailable') {
          const pauseMs =
            (error.retryAfterMs ?? (error.retryAfterSeconds ?? 5) * 1000) + Math.floor(random() * 250);
          if (clock.now() + pauseMs - started > maxWaitMs) throw error;
          await clock.sleep(pauseMs);
          continue;
        }
        if (isRouteUnavailable(error)) {
          unavailable = true;
          return lease(basePath, wanted.kind, leaseMs, clock.now() - started, undefined);
        }
        throw error;
      }
    }
  };

  return { acquire };
}

export type BulkSlots = ReturnType<typeof createBulkSlots>;
