/**
 * Usage per consumer (issue 27): Marketo counts an instance's calls per API-only user, so consumers that
 * share one Custom Service through the vendor would hide which of them spent the day. The vendor books each
 * permit (a call), token vend, reported 606/615/607 and Bulk job (slot, extracted bytes) to the principal
 * that asked, per instance, client (or pool) and quota day.
 *
 * Counts are buffered in the process and written with one atomic add per instance at most every
 * `flushIntervalMs` (and at shutdown): the permit path gains no store write of its own. A process that dies
 * loses at most that interval's counts.
 */

import { quotaDay } from '../../contract/index.js';
import type { Clock, Logger } from '../ports.js';
import { holderClient, type PermitHolder } from './holder.js';

/** What is counted per instance, client, consumer and day. */
export const USAGE_COUNTERS = [
  'calls',
  'vends',
  'marketo606',
  'marketo615',
  'marketo607',
  'bulkJobs',
  'extractBytes',
] as const;
export type UsageCounterName = (typeof USAGE_COUNTERS)[number];
export type UsageCounts = Readonly<Record<UsageCounterName, number>>;

/** One consumer's day on one client (or pool) of an instance. */
export interface ConsumerUsage {
  /** `c:<clientId>` or `p:<instance>` (holder.ts). */
  readonly client: string;
  /** The principal, sessions folded (see {@link consumerOf}). */
  readonly consumer: string;
  readonly counts: UsageCounts;
}

/** Where usage is kept (the budget table in AWS: one item per instance and day). */
export interface UsageStore {
  /** Adds to the counters of `(instance, day)`; atomic per counter, no read. */
  addUsage(
    instance: string,
    day: string,
    rows: readonly ConsumerUsage[],
    expireItemAtSeconds: number,
  ): Promise<void>;
  /** Every consumer's counters of `(instance, day)`. */
  readUsage(instance: string, day: string): Promise<ConsumerUsage[]>;
}

export const emptyCounts = (): Record<UsageCounterName, number> =>
  Object.fromEntries(USAGE_COUNTERS.map((name) => [name, 0])) as Record<UsageCounterName, number>;

/**
 * The consumer a principal is booked to. An assumed role's session name (one per Lambda execution
 * environment, task or job run) is folded away: `arn:aws:sts::1:assumed-role/sync/i-0abc` counts as
 * `arn:aws:sts::1:assumed-role/sync`. So the consumers of an instance are its granted principals: a
 * bounded set, since a grant names each principal (wildcards are refused at synthesis).
 */
export function consumerOf(principal: string): string {
  const match = /^(arn:[^:]+:sts::\d{12}:assumed-role\/[^/]+)\/.+$/.exec(principal);
  return (match?.[1] ?? principal).slice(0, 256);
}

/** Usage records live two days past their quota day, then DynamoDB's TTL removes them. */
const USAGE_LIFETIME_SECONDS = 3 * 86_400;

export interface UsageRecorderDeps {
  readonly store: UsageStore;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** A client's instance key, for token vends (the vend path does not know it). */
  readonly instanceOfClient?: (clientId: string) => Promise<string>;
  /** @default 1_000 */
  readonly flushIntervalMs?: number;
  /** Called with what each write booked (per-consumer metrics, whose dimensions stay bounded: docs/operations.md). */
  readonly onWrite?: (instance: string, rows: readonly ConsumerUsage[]) => void;
}

/** The process's buffer of usage and its writes. */
export function createUsageRecorder(deps: UsageRecorderDeps) {
  const flushIntervalMs = deps.flushIntervalMs ?? 1_000;
  /** instance (or `?` + client id for a vend not yet placed) → client → consumer → counts. */
  let buffer = new Map<string, Map<string, Record<UsageCounterName, number>>>();
  let lastFlush = deps.clock.now();
  let flushing: Promise<void> = Promise.resolve();

  const add = (bucket: string, client: string, consumer: string, counts: Partial<UsageCounts>) => {
    let rows = buffer.get(bucket);
    if (!rows) {
      rows = new Map();
      buffer.set(bucket, rows);
    }
    const key = `${client}\u0000${consumer}`;
    const row = rows.get(key) ?? emptyCounts();
    for (const [name, value] of Object.entries(counts)) row[name as UsageCounterName] += value ?? 0;
    rows.set(key, row);
  };

  const write = async (batch: typeof buffer): Promise<void> => {
    const day = quotaDay(deps.clock.now());
    const expireAt = Math.ceil(deps.clock.now() / 1000) + USAGE_LIFETIME_SECONDS;
    const byInstance = new Map<string, ConsumerUsage[]>();
    for (const [bucket, rows] of batch) {
      let instance = bucket;
      if (bucket.startsWith('?')) {
        try {
          instance = (await deps.instanceOfClient?.(bucket.slice(1))) ?? '';
        } catch {
          instance = '';
        }
        if (instance === '') continue; // an unknown client: nothing was vended, nothing to book
      }
      const list = byInstance.get(instance) ?? [];
      for (const [key, counts] of rows) {
        const [client, consumer] = key.split('\u0000') as [string, string];
        list.push({ client, consumer, counts });
      }
      byInstance.set(instance, list);
    }
    for (const [instance, rows] of byInstance) {
      try {
        await deps.store.addUsage(instance, day, rows, expireAt);
        deps.onWrite?.(instance, rows);
      } catch (error) {
        // Usage is bookkeeping: a failed write must never fail a consumer's call.
        deps.logger?.warn('usage write failed', {
          instance,
          errorName: error instanceof Error ? error.name : typeof error,
        });
      }
    }
  };

  /** Writes what is buffered (waits for a write already on its way). */
  const flush = async (): Promise<void> => {
    const batch = buffer;
    buffer = new Map();
    lastFlush = deps.clock.now();
    flushing = flushing.then(() => (batch.size === 0 ? undefined : write(batch)));
    await flushing;
  };

  return {
    /** Books `counts` on `instance` to the holder (its client and folded principal). */
    record(instance: string, holder: PermitHolder, counts: Partial<UsageCounts>): void {
      const consumer = consumerOf(holder.principal);
      const client = holderClient(holder);
      add(instance, client, consumer, counts);
    },
    /**
     * Books a token vend to `principal`: asked through `target` (a client, or a pool), served from
     * `vendedClientId`, whose instance is looked up at the next write.
     */
    recordVend(target: PermitHolder['target'], vendedClientId: string, principal: string): void {
      add(`?${vendedClientId}`, holderClient({ target, principal }), consumerOf(principal), { vends: 1 });
    },
    /** Writes the buffer if the last write is older than `flushIntervalMs`. */
    async flushIfDue(): Promise<void> {
      if (deps.clock.now() - lastFlush >= flushIntervalMs) await flush();
    },
    flush,
  };
}

export type UsageRecorder = ReturnType<typeof createUsageRecorder>;
