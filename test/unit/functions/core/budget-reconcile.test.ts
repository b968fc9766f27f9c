/** A budget that knows what Marketo counted (issue 27): reconciliation with usage.json, fake clock. */
import { describe, expect, it } from 'vitest';
import { MemoryBudgetStore } from '../../../../functions/adapters/memory-budget-store.js';
import { createInstanceBudget, type MarketoUsageReader } from '../../../../functions/core/budget/index.js';
import { FakeClock } from '../../../../testing/clocks.js';

const HOST = '123-abc-456.mktorest.com';
const START = Date.UTC(2026, 11, 1, 20, 0, 0);

const world = () => {
  const clock = new FakeClock(START);
  const store = new MemoryBudgetStore();
  // Two vend instances (Lambdas) on one store.
  const budgets = [1, 2].map(() => createInstanceBudget({ store, clock, random: () => 0 }));
  let reads = 0;
  const readUsage: MarketoUsageReader = async () => {
    reads += 1;
    return { kind: 'counted', calls: 40_000, users: [] };
  };
  return { clock, budgets, readUsage, reads: () => reads };
};

describe('reconciliation with Marketo’s usage', () => {
  it('does not ask Marketo before a process has served the instance for 5 minutes', async () => {
    const { budgets, readUsage, reads } = world();

    const permit = await budgets[0]?.acquire(HOST, { concurrency: false }, { readUsage });

    expect(reads()).toBe(0);
    expect(permit?.usage?.dailyUsed).toBe(1);
  });

  it("brings the daily count up to Marketo's after 5 minutes, under a permit of the vendor's own", async () => {
    const { clock, budgets, readUsage, reads } = world();
    await budgets[0]?.acquire(HOST, { concurrency: false }, { readUsage });
    await clock.advance(300_000);

    const permit = await budgets[0]?.acquire(HOST, { concurrency: false }, { readUsage });

    expect(reads()).toBe(1);
    expect(permit?.usage?.dailyUsed).toBe(40_001);
    expect(await budgets[0]?.status(HOST)).toMatchObject({ marketo: { calls: 40_000, at: START + 300_000 } });
  });

  it('asks Marketo once per interval however many vend instances serve the instance', async () => {
    const { clock, budgets, readUsage, reads } = world();
    for (const budget of budgets) await budget.acquire(HOST, { concurrency: false }, { readUsage });
    await clock.advance(300_000);

    for (const budget of budgets) await budget.acquire(HOST, { concurrency: false }, { readUsage });

    expect(reads()).toBe(1);
  });

  it("forgets Marketo's count at 00:00 in Chicago", async () => {
    const { clock, budgets, readUsage } = world();
    await budgets[0]?.acquire(HOST, { concurrency: false }, { readUsage });
    await clock.advance(300_000);
    await budgets[0]?.acquire(HOST, { concurrency: false }, { readUsage });
    await clock.advance(10 * 3_600_000);

    const status = await budgets[0]?.status(HOST);

    expect(status?.usage.dailyUsed).toBe(0);
    expect(status?.marketo).toBeUndefined();
  });
});
