import { describe, expect, it } from 'vitest';
import { MemoryBudgetStore } from '../../../../functions/adapters/memory-budget-store.js';
import {
  createInstanceBudget,
  DailyQuotaExhaustedError,
  DEFAULT_TIMING,
  type InstanceBudget,
  instanceKeyOf,
  PermitUnavailableError,
  resolveLimits,
} from '../../../../functions/core/budget/index.js';
import { StoreUnavailableError } from '../../../../functions/core/errors.js';
import { FakeClock } from '../../../../testing/clocks.js';

const HOST = '123-abc-456.mktorest.com';
// 2026-12-01 20:00 UTC = 14:00 in Chicago: the quota resets at 2026-12-02T06:00Z.
const START = Date.UTC(2026, 11, 1, 20, 0, 0);

const world = (config: Parameters<typeof createInstanceBudget>[1] = {}) => {
  const clock = new FakeClock(START);
  const store = new MemoryBudgetStore();
  let ids = 0;
  const metrics: Record<string, number> = {};
  const budget = createInstanceBudget(
    {
      store,
      clock,
      random: () => 0,
      newPermitId: () => `permit-${++ids}`,
      metrics: { record: (name, value) => (metrics[name] = (metrics[name] ?? 0) + value) },
    },
    // These tests are about the window's accounting and the concurrency slots: pacing out of the way (a
    // burst as large as the window); budget-pacing.test.ts has the pacing.
    { timing: { ...DEFAULT_TIMING, burstCalls: 1_000 }, ...config },
  );
  return { clock, store, budget, metrics };
};

const takeAll = async (budget: InstanceBudget, n: number, concurrency = false) => {
  for (let i = 0; i < n; i += 1) await budget.acquire(HOST, { concurrency });
};

const rejection = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );

describe('instance key', () => {
  it('is the REST host when a REST URL is registered', () => {
    expect(
      instanceKeyOf({
        identityUrl: 'https://X.mktorest.com/identity',
        restUrl: 'https://123-ABC-456.mktorest.com/rest',
      }),
    ).toBe(HOST);
  });

  it('is the Identity host when no REST URL is registered', () => {
    expect(instanceKeyOf({ identityUrl: 'https://123-ABC-456.mktorest.com/identity' })).toBe(HOST);
  });
});

describe('limits', () => {
  it("are Marketo's documented ones by default", () => {
    expect(resolveLimits()).toEqual({
      callsPerWindow: 100,
      rateWindowMs: 20_000,
      concurrentCalls: 10,
      dailyQuota: 50_000,
      reservedShare: 0,
      clientShare: 0.5,
      enabled: true,
    });
  });

  it('refuses an override out of range, naming the field and the value', () => {
    expect(() => resolveLimits({ reservedShare: 0.95 })).toThrow(
      'reservedShare must be a number from 0 to 0.9, got 0.95',
    );
    expect(() => resolveLimits({ callsPerWindow: 1.5 })).toThrow('callsPerWindow must be a whole number');
  });
});

describe('rate window', () => {
  it('grants 100 calls and then says when the oldest slot comes back', async () => {
    const { budget } = world();
    await takeAll(budget, 100);

    const error = await rejection(budget.acquire(HOST, { concurrency: false }));

    expect(error).toBeInstanceOf(PermitUnavailableError);
    expect((error as PermitUnavailableError).reason).toBe('rate');
    // Slots are counted for 20 s plus the 1.25 s accounting margin from their (rounded) grant instant; waiters
    // wake on a 50 ms grid.
    expect((error as PermitUnavailableError).retryAfterMs).toBe(21_300);
  });

  it('grants again once the window has rolled over', async () => {
    const { budget, clock } = world();
    await takeAll(budget, 100);
    await clock.advance(21_251);

    const permit = await budget.acquire(HOST, { concurrency: false });

    expect(permit.usage?.windowCalls).toBe(1);
  });

  it('waits inside the vendor for the next slot when the caller allows it', async () => {
    const { budget, clock, metrics } = world();
    await takeAll(budget, 100);
    await clock.advance(5_000);

    const permit = await clock.settle(budget.acquire(HOST, { concurrency: false, maxWaitMs: 20_000 }));

    expect(permit.waitedMs).toBe(16_300);
    expect(metrics.PermitsWaited).toBe(1);
  });

  it('never has more than the limit inside any rolling window, whatever the arrival pattern', async () => {
    const { budget, clock } = world();
    const granted: number[] = [];
    for (let step = 0; step < 600; step += 1) {
      try {
        const permit = await budget.acquire(HOST, { concurrency: false, count: 1 + (step % 3) });
        for (let i = 0; i < permit.count; i += 1) granted.push(clock.now());
      } catch (error) {
        if (!(error instanceof PermitUnavailableError)) throw error;
      }
      await clock.advance(37 + ((step * 7919) % 300));
    }
    for (const t of granted) {
      // Marketo's window seen from a call sent up to the use-by time (750 ms) after its grant.
      expect(granted.filter((u) => u > t - 20_000 - 750 && u <= t).length).toBeLessThanOrEqual(100);
    }
    expect(granted.length).toBeGreaterThan(300);
  });

  it('grants fewer calls than asked when only some slots are free', async () => {
    const { budget } = world();
    await takeAll(budget, 97);

    const permit = await budget.acquire(HOST, { concurrency: false, count: 10 });

    expect(permit.count).toBe(3);
  });

  it('holds back the reserved share for integrations that do not use the vendor', async () => {
    const { budget } = world({ limits: { [HOST]: { reservedShare: 0.2 } } });
    await takeAll(budget, 80);

    await expect(budget.acquire(HOST, { concurrency: false })).rejects.toBeInstanceOf(PermitUnavailableError);
  });

  it('slows everyone down for a window after a consumer reports a 606', async () => {
    const { budget } = world();
    await budget.report(HOST, '606');
    await takeAll(budget, 75);

    await expect(budget.acquire(HOST, { concurrency: false })).rejects.toBeInstanceOf(PermitUnavailableError);
  });
});

describe('concurrency', () => {
  it('grants 10 concurrent slots and refuses the 11th with a short retry', async () => {
    const { budget } = world();
    await takeAll(budget, 10, true);

    const error = await rejection(budget.acquire(HOST));

    expect((error as PermitUnavailableError).reason).toBe('concurrency');
    expect((error as PermitUnavailableError).retryAfterMs).toBe(100);
  });

  it('gives a released slot to the next caller', async () => {
    const { budget } = world();
    const permits = [];
    for (let i = 0; i < 10; i += 1) permits.push(await budget.acquire(HOST));
    await budget.release(HOST, permits[3]?.permitId as string);

    const permit = await budget.acquire(HOST);

    expect(permit.usage?.inFlight).toBe(10);
  });

  it('releases the previous permit in the same write as the next acquire', async () => {
    const { budget, store } = world();
    const first = await budget.acquire(HOST);
    const writesBefore = store.writes;

    const second = await budget.acquire(HOST, { release: first.permitId });

    expect(second.usage?.inFlight).toBe(1);
    expect(store.writes - writesBefore).toBe(1);
  });

  it('takes back a crashed consumer’s slot once its lease lapses', async () => {
    const { budget, clock } = world();
    await takeAll(budget, 10, true);
    await clock.advance(15_000);

    const permit = await budget.acquire(HOST);

    expect(permit.usage?.inFlight).toBe(1);
  });
});

describe('daily quota', () => {
  it('refuses with a typed error naming the reset instant once the day is used up', async () => {
    const { budget } = world({ limits: { [HOST]: { dailyQuota: 3 } } });
    await takeAll(budget, 3);

    const error = await rejection(budget.acquire(HOST, { concurrency: false, maxWaitMs: 20_000 }));

    expect(error).toBeInstanceOf(DailyQuotaExhaustedError);
    expect((error as DailyQuotaExhaustedError).resetsAt).toBe(Date.UTC(2026, 11, 2, 6, 0));
    expect((error as DailyQuotaExhaustedError).retryAfterSeconds).toBe(10 * 3600);
  });

  it('starts counting again at 00:00 in Chicago', async () => {
    const { budget, clock } = world({ limits: { [HOST]: { dailyQuota: 3 } } });
    await takeAll(budget, 3);
    await clock.advance(10 * 3600_000);

    const permit = await budget.acquire(HOST, { concurrency: false });

    expect(permit.usage?.dailyUsed).toBe(1);
  });

  it('closes the day for everyone after a consumer reports a 607 that Marketo confirms', async () => {
    const { budget } = world();
    await budget.report(HOST, '607', { readUsage: async () => ({ kind: 'exhausted' }) });

    await expect(budget.acquire(HOST)).rejects.toBeInstanceOf(DailyQuotaExhaustedError);
  });
});

describe('store', () => {
  it('costs one read and one conditional write per permit without contention', async () => {
    const { budget, store } = world();

    await budget.acquire(HOST);

    expect({ reads: store.reads, writes: store.writes }).toEqual({ reads: 1, writes: 1 });
  });

  it('keeps every grant under concurrent acquisition (compare-and-swap, no lost update)', async () => {
    const { budget, store, clock } = world();

    const permits = await clock.settle(Promise.all(Array.from({ length: 10 }, () => budget.acquire(HOST))));

    expect(new Set(permits.map((p) => p.permitId)).size).toBe(10);
    expect(Object.keys((await store.get(HOST))?.leases ?? {})).toHaveLength(10);
  });

  it('fails open with an unmetered permit when the store is unreachable', async () => {
    const { budget, store, metrics } = world();
    store.setFailing(true);

    const permit = await budget.acquire(HOST);

    expect(permit).toMatchObject({ permitId: 'unmetered', unmetered: true });
    expect(metrics.BudgetStoreErrors).toBe(1);
  });

  it('fails closed with StoreUnavailable when configured so', async () => {
    const { budget, store } = world({ onStoreFailure: 'closed' });
    store.setFailing(true);

    await expect(budget.acquire(HOST)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('hands out unmetered permits without touching the store when the budget is off', async () => {
    const { budget, store } = world({ limits: { default: { enabled: false } } });

    const permit = await budget.acquire(HOST);

    expect(permit.unmetered).toBe(true);
    expect(store.writes).toBe(0);
  });

  it('lets an operator override (CLI) win over the deployment configuration', async () => {
    const { budget } = world({ limits: { [HOST]: { callsPerWindow: 50 } } });
    await budget.setLimits(HOST, { callsPerWindow: 2 });
    await takeAll(budget, 2);

    await expect(budget.acquire(HOST, { concurrency: false })).rejects.toBeInstanceOf(PermitUnavailableError);
  });
});

describe('status', () => {
  it('shows window calls, concurrency in use and daily usage against quota with the reset time', async () => {
    const { budget } = world();
    await budget.acquire(HOST);
    await budget.acquire(HOST, { concurrency: false, count: 4 });

    const status = await budget.status(HOST);

    expect(status).toMatchObject({
      instance: HOST,
      usage: {
        windowCalls: 5,
        windowLimit: 100,
        inFlight: 1,
        concurrencyLimit: 10,
        dailyUsed: 5,
        dailyQuota: 50_000,
      },
      resetsAt: Date.UTC(2026, 11, 2, 6, 0),
      exhausted: false,
    });
  });
});

describe('requests', () => {
  it('refuses a count outside 1-10', async () => {
    const { budget } = world();
    await expect(budget.acquire(HOST, { count: 11 })).rejects.toThrow(
      'count must be a whole number from 1 to 10',
    );
  });
});
