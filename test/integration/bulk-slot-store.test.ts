import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetTable, DynamoBudgetStore } from '../../functions/adapters/dynamo-budget-store.js';
import { DynamoBulkSlotStore } from '../../functions/adapters/dynamo-bulk-slot-store.js';
import type { PermitHolder } from '../../functions/core/budget/holder.js';
import { createInstanceBudget } from '../../functions/core/budget/index.js';
import { createBulkSlots } from '../../functions/core/bulk/index.js';
import { systemClock } from '../../functions/core/clock.js';
import { FakeClock } from '../../testing/clocks.js';
import { type RunningDynalite, startDynalite } from '../../testing/dynalite.js';

const HOST = '123-abc-456.mktorest.com';
const START = Date.UTC(2026, 11, 1, 20, 0, 0);
const SYNC: PermitHolder = { target: { clientId: 'sync' }, principal: 'arn:aws:iam::111122223333:role/sync' };

let dynalite: RunningDynalite;
let tables = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
});

afterAll(async () => {
  await dynalite.stop();
});

/** A fresh budget table and `vendors` slot engines on it (as separate Lambdas would be), on one fake clock. */
const world = async (vendors = 1) => {
  tables += 1;
  const tableName = `bulk-${process.pid}-${tables}`;
  await createBudgetTable(dynalite.client, tableName);
  const clock = new FakeClock(START);
  const store = new DynamoBulkSlotStore({ client: dynalite.client, tableName });
  // Racing real DynamoDB calls cannot run on a fake timer queue: the clock stands still, pauses are real.
  const engineClock = { now: () => clock.now(), sleep: systemClock.sleep };
  const engines = Array.from({ length: vendors }, () => createBulkSlots({ store, clock: engineClock }));
  return { clock, store, tableName, engines, slots: engines[0] as (typeof engines)[number] };
};

describe('Bulk API slots on DynamoDB (dynalite)', () => {
  it('keeps leases, the day and its bytes across reads', async () => {
    const { slots, store } = await world();
    const held = await slots.acquire(HOST, { kind: 'extract', leaseMs: 60_000, expectedBytes: 42 }, SYNC);
    const ended = await slots.acquire(HOST, { kind: 'import' }, SYNC);
    await slots.end(HOST, ended.slotId, SYNC, 0);

    expect(await store.get(HOST)).toEqual({
      instance: HOST,
      version: 3,
      slots: {
        [held.slotId]: {
          client: 'c:sync',
          principal: SYNC.principal,
          kind: 'extract',
          since: START,
          until: START + 60_000,
          expectedBytes: 42,
        },
      },
      lapsed: {},
      day: '2026-12-01',
      exportBytes: 0,
      jobsEnded: { extract: 0, import: 1 },
    });
  });

  it('never grants more than 10 extract slots to three vendors racing on one table', async () => {
    const { engines, store } = await world(3);
    const outcomes = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (engines[i % 3] as (typeof engines)[number]).acquire(HOST, { kind: 'extract' }, SYNC).then(
          () => 'granted',
          (error: { code: string; reason?: string }) => `${error.code}:${error.reason}`,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'granted')).toHaveLength(10);
    expect(Object.keys((await store.get(HOST))?.slots ?? {})).toHaveLength(10);
  });

  it('counts a late end report of a lapsed slot once', async () => {
    const { slots, clock, store } = await world();
    const slot = await slots.acquire(HOST, { kind: 'extract', leaseMs: 60_000 }, SYNC);
    await clock.advance(61_000);
    await slots.end(HOST, slot.slotId, SYNC, 900);
    await slots.end(HOST, slot.slotId, SYNC, 900);
    expect((await store.get(HOST))?.exportBytes).toBe(900);
  });

  it('lives beside the budget: the budget never lists a bulk item, the slots never a budget item', async () => {
    const { slots, tableName } = await world();
    const budget = createInstanceBudget({
      store: new DynamoBudgetStore({ client: dynalite.client, tableName }),
      clock: systemClock,
    });
    await budget.acquire(HOST, { concurrency: false });
    await slots.acquire(HOST, { kind: 'extract' }, SYNC);

    expect((await budget.listStatus()).map((s) => s.instance)).toEqual([HOST]);
    expect((await slots.listStatus()).map((s) => [s.instance, s.usage.slots.extract.inUse])).toEqual([
      [HOST, 1],
    ]);
  });
});
