import { describe, expect, it } from 'vitest';
import { MemoryBulkSlotStore } from '../../../../functions/adapters/memory-bulk-slot-store.js';
import type { PermitHolder } from '../../../../functions/core/budget/holder.js';
import {
  BulkSlotNotHeldError,
  BulkSlotUnavailableError,
  createBulkSlots,
  DailyExportQuotaExhaustedError,
  resolveBulkLimits,
} from '../../../../functions/core/bulk/index.js';
import { StoreUnavailableError } from '../../../../functions/core/errors.js';
import { FakeClock } from '../../../../testing/clocks.js';

const HOST = '123-abc-456.mktorest.com';
// 2026-12-01 20:00 UTC = 14:00 in Chicago: the quota resets at 2026-12-02T06:00Z.
const START = Date.UTC(2026, 11, 1, 20, 0, 0);
const RESET = Date.UTC(2026, 11, 2, 6, 0, 0);
const SYNC: PermitHolder = { target: { clientId: 'sync' }, principal: 'arn:aws:iam::111122223333:role/sync' };
const OTHER: PermitHolder = {
  target: { clientId: 'sync' },
  principal: 'arn:aws:iam::111122223333:role/other',
};
const MB = 1_000_000;

const world = (config: Parameters<typeof createBulkSlots>[1] = {}) => {
  const clock = new FakeClock(START);
  const store = new MemoryBulkSlotStore();
  let ids = 0;
  const metrics: Record<string, number> = {};
  const ends: unknown[] = [];
  const slots = createBulkSlots(
    {
      store,
      clock,
      random: () => 0,
      newSlotId: () => `slot-${++ids}`,
      metrics: { record: (name, value) => (metrics[name] = (metrics[name] ?? 0) + value) },
      usage: (end) => {
        ends.push(end);
      },
    },
    config,
  );
  return { clock, store, slots, metrics, ends };
};

const rejection = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );

describe('Bulk API slots: the queue places', () => {
  it("grants 10 extract slots on an instance, Marketo's queue including the jobs processing", async () => {
    const { slots } = world();
    const granted = [];
    for (let i = 0; i < 10; i += 1) granted.push(await slots.acquire(HOST, { kind: 'extract' }, SYNC));
    expect(granted.map((s) => s.slotId)).toEqual(Array.from({ length: 10 }, (_, i) => `slot-${i + 1}`));
    expect(granted.at(-1)?.usage?.slots.extract).toEqual({ inUse: 10, limit: 10 });
  });

  it('answers the 11th extract ask with BulkSlotUnavailable (reason slots) and an exact wait', async () => {
    const { slots } = world();
    for (let i = 0; i < 10; i += 1) await slots.acquire(HOST, { kind: 'extract' }, SYNC);
    const error = await rejection(slots.acquire(HOST, { kind: 'extract' }, SYNC));
    expect(error).toBeInstanceOf(BulkSlotUnavailableError);
    expect(error).toMatchObject({ code: 'BulkSlotUnavailable', reason: 'slots', retryAfterMs: 1_000 });
  });

  it('counts import slots apart from extract slots', async () => {
    const { slots } = world();
    for (let i = 0; i < 10; i += 1) await slots.acquire(HOST, { kind: 'extract' }, SYNC);
    const slot = await slots.acquire(HOST, { kind: 'import' }, SYNC);
    expect(slot.usage?.slots).toEqual({ extract: { inUse: 10, limit: 10 }, import: { inUse: 1, limit: 10 } });
  });

  it("counts every instance's slots apart", async () => {
    const { slots } = world();
    for (let i = 0; i < 10; i += 1) await slots.acquire(HOST, { kind: 'extract' }, SYNC);
    expect((await slots.acquire('other.mktorest.com', { kind: 'extract' }, SYNC)).unmetered).toBe(false);
  });

  it('gives a place back when its job ends', async () => {
    const { slots } = world();
    const held = [];
    for (let i = 0; i < 10; i += 1) held.push(await slots.acquire(HOST, { kind: 'extract' }, SYNC));
    await slots.end(HOST, held[3]?.slotId as string, SYNC, 0);
    expect((await slots.acquire(HOST, { kind: 'extract' }, SYNC)).slotId).toBe('slot-11');
  });

  it('holds back the reserved share of the places for integrations outside the vendor', async () => {
    const { slots } = world({ limits: { default: { reservedShare: 0.2 } } });
    for (let i = 0; i < 8; i += 1) await slots.acquire(HOST, { kind: 'extract' }, SYNC);
    expect(await rejection(slots.acquire(HOST, { kind: 'extract' }, SYNC))).toBeInstanceOf(
      BulkSlotUnavailableError,
    );
  });

  it("never grants more places than Marketo's queue holds, whatever the configuration says", () => {
    expect(() => resolveBulkLimits({ extractJobs: 11 })).toThrow(
      'extractJobs must be a whole number from 1 to 10, got 11',
    );
  });
});

describe('Bulk API slots: the daily export quota', () => {
  it("adds a job's file bytes to the day's count when its end is reported", async () => {
    const { slots } = world();
    const slot = await slots.acquire(HOST, { kind: 'extract' }, SYNC);
    const end = await slots.end(HOST, slot.slotId, SYNC, 120 * MB);
    expect(end).toMatchObject({ released: true, countedBytes: 120 * MB });
    expect((await slots.status(HOST)).usage.exportBytes).toBe(120 * MB);
  });

  it('refuses an extract slot with DailyExportQuotaExhausted and the reset time once the day reached 500 MB', async () => {
    const { slots, clock } = world();
    const slot = await slots.acquire(HOST, { kind: 'extract' }, SYNC);
    await slots.end(HOST, slot.slotId, SYNC, 500 * MB);
    const error = await rejection(slots.acquire(HOST, { kind: 'extract' }, SYNC));
    expect(error).toBeInstanceOf(DailyExportQuotaExhaustedError);
    expect(error).toMatchObject({
      code: 'DailyExportQuotaExhausted',
      resetsAt: RESET,
      retryAfterSeconds: (RESET - clock.now()) / 1000,
    });
  });

  it('still grants import slots when the export quota is used up', async () => {
    const { slots } = world();
    const slot = await slots.acquire(HOST, { kind: 'extract' }, SYNC);
    await slots.end(HOST, slot.slotId, SYNC, 500 * MB);
    expect((await slots.acquire(HOST, { kind: 'import' }, SYNC)).kind).toBe('import');
  });

  it('does not count the bytes of an import', async () => {
    const { slots } = world();
    const slot = await slots.acquire(HOST, { kind: 'import' }, SYNC);
    expect(await slots.end(HOST, slot.slotId, SYNC, 9 * MB)).toMatchObject({ countedBytes: 0 });
  });

  it('waits (reason export-quota) while the jobs in flight expect to reach the quota', async () => {
    const { slots } = world();
    await slots.acquire(HOST, { kind: 'extract', expectedBytes: 300 * MB }, SYNC);
    await slots.acquire(HOST, { kind: 'extract', expectedBytes: 200 * MB }, SYNC);
    const error = await rejection(slots.acquire(HOST, { kind: 'extract' }, SYNC));
    expect(error).toMatchObject({ code: 'BulkSlotUnavailable', reason: 'export-quota', retryAfterMs: 1_000 });
  });

  it('grants again once the jobs in flight reported less than they expected', async () => {
    const { slots } = world();
    const big = await slots.acquire(HOST, { kind: 'extract', expectedBytes: 300 * MB }, SYNC);
    await slots.acquire(HOST, { kind: 'extract', expectedBytes: 200 * MB }, SYNC);
    await slots.end(HOST, big.slotId, SYNC, 100 * MB);
    expect((await slots.acquire(HOST, { kind: 'extract' }, SYNC)).usage).toMatchObject({
      exportBytes: 100 * MB,
      exportBytesExpected: 200 * MB,
    });
  });

  it('grants a job that will itself go past the quota: Marketo accepts it and lets it run to its end', async () => {
    const { slots } = world();
    const slot = await slots.acquire(HOST, { kind: 'extract', expectedBytes: 900 * MB }, SYNC);
    expect(slot.unmetered).toBe(false);
  });

  it('starts a new count at 00:00 America/Chicago', async () => {
    const { slots, clock } = world();
    const slot = await slots.acquire(HOST, { kind: 'extract' }, SYNC);
    await slots.end(HOST, slot.slotId, SYNC, 500 * MB);
    await clock.advance(RESET - clock.now());
    const next = await slots.acquire(HOST, { kind: 'extract' }, SYNC);
    expect(next.usage?.exportBytes).toBe(0);
    expect(next.resetsAt).toBe(RESET + 86_400_000);
  });

  it('holds back the reserved share of the daily bytes', async () => {
    const { slots } = world({ limits: { [HOST]: { reservedShare: 0.2 } } });
    const slot = await slots.acquire(HOST, { kind: 'extract' }, SYNC);
    await slots.end(HOST, slot.slotId, SYNC, 400 * MB);
    expect(await rejection(slots.acquire(HOST, { kind: 'extract' }, SYNC))).toBeInstanceOf(
      DailyExportQuotaExhaustedError,
    );
  });
});

describe('Bulk API slots: leases', () => {
  it('reclaims the place of a consumer that died once its lease lapses', async () => {
    const { slots, clock } = world();
    for (let i = 0; i < 10; i += 1) await slots.acquire(HOST, { kind: 'extract', leaseMs: 60_000 }, SYNC);
    await clock.advance(60_000);
    expect((await slots.acquire(HOST, { kind: 'extract' }, SYNC)).usage?.slots.extract.inUse).toBe(1);
  });

  it('keeps a renewed slot past its first lease', async () => {
    const { slots, clock } = world({ limits: { default: { extractJobs: 1 } } });
    const slot = await slots.acquire(HOST, { kind: 'extract', leaseMs: 60_000 }, SYNC);
    await clock.advance(50_000);
    const renewed = await slots.renew(HOST, slot.slotId, SYNC, 60_000);
    expect(renewed.leaseUntil).toBe(clock.now() + 60_000);
    await clock.advance(50_000);
    expect(await rejection(slots.acquire(HOST, { kind: 'extract' }, SYNC))).toBeInstanceOf(
      BulkSlotUnavailableError,
    );
  });

  it('names the wait until the soonest lease lapses when that comes before the poll interval', async () => {
    const { slots, clock } = world({ limits: { default: { extractJobs: 1 } } });
    await slots.acquire(HOST, { kind: 'extract', leaseMs: 5_000 }, SYNC);
    await clock.advance(4_600);
    expect(await rejection(slots.acquire(HOST, { kind: 'extract' }, SYNC))).toMatchObject({
      retryAfterMs: 400,
    });
  });

  it('gives a lapsed lease back to its holder on renewal while a place is free', async () => {
    const { slots, clock } = world();
    const slot = await slots.acquire(HOST, { kind: 'extract', leaseMs: 60_000 }, SYNC);
    await clock.advance(61_000);
    expect((await slots.renew(HOST, slot.slotId, SYNC)).usage?.slots.extract.inUse).toBe(1);
  });

  it('answers BulkSlotNotHeld to the renewal of a lapsed lease whose place was taken', async () => {
    const { slots, clock } = world({ limits: { default: { extractJobs: 1 } } });
    const slot = await slots.acquire(HOST, { kind: 'extract', leaseMs: 60_000 }, SYNC);
    await clock.advance(61_000);
    await slots.acquire(HOST, { kind: 'extract' }, OTHER);
    expect(await rejection(slots.renew(HOST, slot.slotId, SYNC))).toBeInstanceOf(BulkSlotNotHeldError);
  });

  it("still counts a lapsed slot's bytes when its end is reported late, and only once", async () => {
    const { slots, clock } = world();
    const slot = await slots.acquire(HOST, { kind: 'extract', leaseMs: 60_000 }, SYNC);
    await clock.advance(120_000);
    expect(await slots.end(HOST, slot.slotId, SYNC, 50 * MB)).toMatchObject({
      released: true,
      countedBytes: 50 * MB,
    });
    expect(await slots.end(HOST, slot.slotId, SYNC, 50 * MB)).toEqual({ released: false, countedBytes: 0 });
    expect((await slots.status(HOST)).usage.exportBytes).toBe(50 * MB);
  });

  it('refuses a lease outside 5 s to 1 h', async () => {
    const { slots } = world();
    await expect(slots.acquire(HOST, { kind: 'extract', leaseMs: 4_999 }, SYNC)).rejects.toThrow(
      'leaseMs must be a whole number from 5000 to 3600000',
    );
  });
});

describe('Bulk API slots: holders', () => {
  it('lets only the principal that took a slot renew it', async () => {
    const { slots } = world();
    const slot = await slots.acquire(HOST, { kind: 'extract' }, SYNC);
    const error = await rejection(slots.renew(HOST, slot.slotId, OTHER));
    expect(error).toBeInstanceOf(BulkSlotNotHeldError);
    expect(error).toMatchObject({ message: 'that slot is held by another client or principal' });
  });

  it("lets only the principal that took a slot report its end (another's report counts nothing)", async () => {
    const { slots } = world();
    const slot = await slots.acquire(HOST, { kind: 'extract' }, SYNC);
    expect(await rejection(slots.end(HOST, slot.slotId, OTHER, 500 * MB))).toBeInstanceOf(
      BulkSlotNotHeldError,
    );
    expect((await slots.status(HOST)).usage).toMatchObject({
      exportBytes: 0,
      slots: { extract: { inUse: 1 } },
    });
  });

  it('tells the usage sink who ended which job with how many bytes', async () => {
    const { slots, clock, ends } = world();
    const slot = await slots.acquire(HOST, { kind: 'extract' }, SYNC);
    await clock.advance(90_000);
    await slots.renew(HOST, slot.slotId, SYNC);
    await clock.advance(30_000);
    await slots.end(HOST, slot.slotId, SYNC, 7 * MB);
    expect(ends).toEqual([
      { instance: HOST, kind: 'extract', holder: SYNC, bytes: 7 * MB, day: '2026-12-01', heldMs: 120_000 },
    ]);
  });

  it('shows operators who holds which slot', async () => {
    const { slots } = world();
    await slots.acquire(HOST, { kind: 'extract', leaseMs: 60_000 }, SYNC);
    expect((await slots.status(HOST)).holders).toEqual([
      { client: 'c:sync', principal: SYNC.principal, kind: 'extract', until: START + 60_000 },
    ]);
  });
});

describe('Bulk API slots: the store', () => {
  it('hands out unmetered slots when the store fails and the budget fails open', async () => {
    const { slots, store, metrics } = world();
    store.setFailing(true);
    expect(await slots.acquire(HOST, { kind: 'extract' }, SYNC)).toMatchObject({
      slotId: 'unmetered',
      unmetered: true,
    });
    expect(metrics.BulkSlotsUnmetered).toBe(1);
  });

  it('answers StoreUnavailable when the store fails and the budget fails closed', async () => {
    const { slots, store } = world({ onStoreFailure: 'closed' });
    store.setFailing(true);
    expect(await rejection(slots.acquire(HOST, { kind: 'extract' }, SYNC))).toBeInstanceOf(
      StoreUnavailableError,
    );
  });

  it('never grants more than the limit to two vendors racing on one store', async () => {
    const clock = new FakeClock(START);
    const store = new MemoryBulkSlotStore();
    const vendors = [0, 1].map(() => createBulkSlots({ store, clock, random: () => 0.5 }));
    const asks = Array.from({ length: 24 }, (_, i) =>
      (vendors[i % 2] as (typeof vendors)[number]).acquire(HOST, { kind: 'extract' }, SYNC).then(
        () => 'granted',
        (error: { code: string }) => error.code,
      ),
    );
    const outcomes = await clock.settle(Promise.all(asks));
    expect(outcomes.filter((o) => o === 'granted')).toHaveLength(10);
    expect((await store.get(HOST))?.slots).toSatisfy((s: object) => Object.keys(s).length === 10);
  });
});
