import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetTable, DynamoBudgetStore } from '../../functions/adapters/dynamo-budget-store.js';
import {
  createInstanceBudget,
  createUsageRecorder,
  DailyQuotaExhaustedError,
  DEFAULT_TIMING,
  emptyCounts,
  instanceKeyOf,
  PermitUnavailableError,
} from '../../functions/core/budget/index.js';
import { systemClock } from '../../functions/core/clock.js';
import { FakeClock } from '../../testing/clocks.js';
import { type RunningDynalite, startDynalite } from '../../testing/dynalite.js';

// Two Custom Services of one Marketo instance: one registered with a REST URL, one with only Identity.
const SYNC = {
  identityUrl: 'https://123-ABC-456.mktorest.com/identity',
  restUrl: 'https://123-abc-456.mktorest.com',
};
const WEBHOOKS = { identityUrl: 'https://123-ABC-456.mktorest.com/identity' };
const START = Date.UTC(2026, 11, 1, 20, 0, 0);

let dynalite: RunningDynalite;
let tables = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
});

afterAll(async () => {
  await dynalite.stop();
});

/** A fresh table and `vendors` budget engines on it (as separate Lambdas would be), sharing one fake clock. */
const world = async (
  vendors = 1,
  config: Parameters<typeof createInstanceBudget>[1] = {},
  options: { readonly realSleep?: boolean } = {},
) => {
  tables += 1;
  const tableName = `budget-${process.pid}-${tables}`;
  await createBudgetTable(dynalite.client, tableName);
  const clock = new FakeClock(START);
  const store = new DynamoBudgetStore({ client: dynalite.client, tableName });
  // Racing real DynamoDB calls cannot run on a fake timer queue: the clock stands still, pauses are real.
  const engineClock = options.realSleep ? { now: () => clock.now(), sleep: systemClock.sleep } : clock;
  const budgets = Array.from({ length: vendors }, () =>
    createInstanceBudget({ store, clock: engineClock }, config),
  );
  return { clock, store, budgets, budget: budgets[0] as (typeof budgets)[number] };
};

describe('budget on DynamoDB (dynalite)', () => {
  it('gives the rate window back once it rolls over', async () => {
    const { budget, clock } = await world(1, { limits: { default: { callsPerWindow: 5 } } });
    const key = instanceKeyOf(SYNC);
    for (let i = 0; i < 5; i += 1) await budget.acquire(key, { concurrency: false });
    await expect(budget.acquire(key, { concurrency: false })).rejects.toBeInstanceOf(PermitUnavailableError);

    await clock.advance(21_251);
    const permit = await budget.acquire(key, { concurrency: false });

    expect(permit.usage).toMatchObject({ windowCalls: 1, dailyUsed: 6 });
  });

  it("takes back a crashed consumer's concurrency slot once its lease lapses", async () => {
    const { budget, clock } = await world(1, { limits: { default: { concurrentCalls: 1 } } });
    const key = instanceKeyOf(SYNC);
    await budget.acquire(key, { leaseMs: 5_000 }); // never released: the consumer crashed
    await expect(budget.acquire(key)).rejects.toMatchObject({
      code: 'PermitUnavailable',
      reason: 'concurrency',
    });

    await clock.advance(5_000);
    const permit = await budget.acquire(key);

    expect(permit.usage?.inFlight).toBe(1);
  });

  it('makes two clients of one instance share one budget, across vendor instances', async () => {
    const { budgets } = await world(2, { limits: { default: { callsPerWindow: 4 } } });
    const [lambdaA, lambdaB] = budgets as [(typeof budgets)[number], (typeof budgets)[number]];
    expect(instanceKeyOf(SYNC)).toBe(instanceKeyOf(WEBHOOKS));
    await lambdaA.acquire(instanceKeyOf(SYNC), { concurrency: false, count: 2 });
    await lambdaB.acquire(instanceKeyOf(WEBHOOKS), { concurrency: false, count: 2 });

    const error = await lambdaB
      .acquire(instanceKeyOf(WEBHOOKS), { concurrency: false })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PermitUnavailableError);
    expect((await lambdaA.status(instanceKeyOf(SYNC))).usage.windowCalls).toBe(4);
  });

  it('never over-grants when many vendor instances race on one item (conditional writes)', async () => {
    const { budgets, store } = await world(
      4,
      {
        limits: { default: { callsPerWindow: 10, concurrentCalls: 100 } },
        maxConflicts: 100,
        // The window's accounting under races, pacing out of the way (a burst as large as the window).
        timing: { ...DEFAULT_TIMING, burstCalls: 1_000 },
      },
      { realSleep: true },
    );
    const key = instanceKeyOf(SYNC);

    const outcomes = await Promise.allSettled(
      budgets.flatMap((b) => Array.from({ length: 5 }, () => b.acquire(key, { concurrency: false }))),
    );

    const granted = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(granted).toBe(10);
    expect((await store.get(key))?.dayCount).toBe(10);
  });

  it('releases with one write and keeps the other leases', async () => {
    const { budget } = await world();
    const key = instanceKeyOf(SYNC);
    const first = await budget.acquire(key);
    await budget.acquire(key);

    await budget.release(key, first.permitId);

    expect((await budget.status(key)).usage.inFlight).toBe(1);
  });

  it('refuses with DailyQuotaExhausted once the quota is used, and an operator override applies at once', async () => {
    const { budget } = await world();
    const key = instanceKeyOf(SYNC);
    await budget.acquire(key, { concurrency: false, count: 3 });

    await budget.setLimits(key, { dailyQuota: 3 });

    await expect(budget.acquire(key, { concurrency: false })).rejects.toBeInstanceOf(
      DailyQuotaExhaustedError,
    );
  });

  it('fails open with an unmetered permit when the table cannot be reached', async () => {
    const unreachable = new DynamoDBClient({
      endpoint: 'http://127.0.0.1:9', // discard port: connection refused at once
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const budget = createInstanceBudget({
      store: new DynamoBudgetStore({ client: unreachable, tableName: 'budget' }),
      clock: new FakeClock(START),
    });

    const permit = await budget.acquire(instanceKeyOf(SYNC));

    expect(permit).toMatchObject({ permitId: 'unmetered', unmetered: true });
    unreachable.destroy();
  });

  it('fails closed with StoreUnavailable when configured so and the table cannot be reached', async () => {
    const unreachable = new DynamoDBClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const budget = createInstanceBudget(
      {
        store: new DynamoBudgetStore({ client: unreachable, tableName: 'budget' }),
        clock: new FakeClock(START),
      },
      { onStoreFailure: 'closed' },
    );

    await expect(budget.acquire(instanceKeyOf(SYNC))).rejects.toMatchObject({ code: 'StoreUnavailable' });
    unreachable.destroy();
  });

  it('adds the usage two vend instances book for one consumer into one item, which the budget listing skips', async () => {
    const { clock, store, budget } = await world();
    const holder = {
      target: { clientId: 'sync' },
      principal: 'arn:aws:sts::111111111111:assumed-role/sync/a',
    };
    const recorders = [1, 2].map(() => createUsageRecorder({ store, clock }));
    recorders[0]?.record(instanceKeyOf(SYNC), holder, { calls: 3, extractBytes: 1_500 });
    recorders[1]?.record(instanceKeyOf(SYNC), holder, { calls: 2, marketo615: 1 });

    await Promise.all(recorders.map((r) => r.flush()));

    expect(await store.readUsage(instanceKeyOf(SYNC), '2026-12-01')).toEqual([
      {
        client: 'c:sync',
        consumer: 'arn:aws:sts::111111111111:assumed-role/sync',
        counts: { ...emptyCounts(), calls: 5, marketo615: 1, extractBytes: 1_500 },
      },
    ]);
    expect(await budget.listStatus()).toEqual([]);
  });

  it('keeps every field of an instance through a write and a read (pacing, reconciliation)', async () => {
    const { store } = await world();
    const state = {
      instance: 'fields.mktorest.com',
      version: 1,
      grants: [{ at: START, count: 2 }],
      leases: { 'c:a|0123456789ab|permit': START + 15_000 },
      day: '2026-12-01',
      dayCount: 2,
      paceAt: START + 425,
      reconciledAt: START - 1,
      confirmedAt: START - 2,
      marketoCount: 40_000,
      marketoCountAt: START - 1,
    };

    await store.save(state, 0, Math.ceil(START / 1000) + 3600);

    expect(await store.get('fields.mktorest.com')).toEqual(state);
  });

  it('paces grants across vendor instances: the second Lambda finds the first one’s burst spent', async () => {
    const { budgets, store } = await world(2);
    const [lambdaA, lambdaB] = budgets as [(typeof budgets)[number], (typeof budgets)[number]];
    const key = instanceKeyOf(SYNC);
    for (let i = 0; i < 6; i += 1) await lambdaA.acquire(key, { concurrency: false });

    const refused = await lambdaB.acquire(key, { concurrency: false }).catch((e: unknown) => e);

    // Six calls at once (the idle burst) put the next one 6 × 212.5 ms on: not due yet for any Lambda.
    expect((await store.get(key))?.paceAt).toBe(START + 1_275);
    expect(refused).toMatchObject({ code: 'PermitUnavailable', reason: 'rate' });
  });
});
