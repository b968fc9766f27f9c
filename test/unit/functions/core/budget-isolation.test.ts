/**
 * One consumer cannot block another (issue 22; local mode: issue 23): two consumers on two clients of one
 * instance, in the core with a fake clock.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBudgetStore } from '../../../../functions/adapters/memory-budget-store.js';
import {
  type BudgetContext,
  createInstanceBudget,
  DailyQuotaExhaustedError,
  DEFAULT_TIMING,
  type MarketoDayUsage,
  PermitUnavailableError,
} from '../../../../functions/core/budget/index.js';
import { FakeClock } from '../../../../testing/clocks.js';

const HOST = '123-abc-456.mktorest.com';
// 2026-12-01 20:00 UTC = 14:00 in Chicago.
const START = Date.UTC(2026, 11, 1, 20, 0, 0);

/** Team A's sync job, granted client `a` only. */
const TEAM_A: BudgetContext = {
  holder: { target: { clientId: 'a' }, principal: 'arn:aws:sts::111111111111:assumed-role/team-a/sync' },
};
/** Team B's job, granted client `b` only (another Custom Service of the same instance). */
const TEAM_B: BudgetContext = {
  holder: { target: { clientId: 'b' }, principal: 'arn:aws:sts::111111111111:assumed-role/team-b/sync' },
};

const world = (config: Parameters<typeof createInstanceBudget>[1] = {}) => {
  const clock = new FakeClock(START);
  const store = new MemoryBudgetStore();
  let ids = 0;
  const budget = createInstanceBudget(
    {
      store,
      clock,
      random: () => 0,
      newPermitId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    },
    // These tests are about the window's accounting and the concurrency slots: pacing out of the way (a
    // burst as large as the window); budget-pacing.test.ts has the pacing.
    { timing: { ...DEFAULT_TIMING, burstCalls: 1_000 }, ...config },
  );
  return { clock, store, budget };
};

/** A usage.json reader that answers `usage` and counts its calls. */
const marketoSays = (usage: MarketoDayUsage) => {
  const reader = Object.assign(
    async () => {
      reader.calls += 1;
      return usage;
    },
    { calls: 0 },
  );
  return reader;
};

describe('releasing a permit', () => {
  it('does nothing when another consumer names it', async () => {
    const { budget } = world();
    const held = await budget.acquire(HOST, {}, TEAM_A);

    await budget.release(HOST, held.permitId, TEAM_B);

    expect((await budget.status(HOST)).usage.inFlight).toBe(1);
  });

  it('does nothing when the same principal names it through another client', async () => {
    const { budget } = world();
    const held = await budget.acquire(HOST, {}, TEAM_A);

    await budget.release(HOST, held.permitId, {
      holder: { target: { clientId: 'b' }, principal: TEAM_A.holder?.principal ?? '' },
    });

    expect((await budget.status(HOST)).usage.inFlight).toBe(1);
  });

  it('does nothing when another consumer carries it on its next permit request', async () => {
    const { budget } = world();
    const held = await budget.acquire(HOST, {}, TEAM_A);

    await budget.acquire(HOST, { release: held.permitId }, TEAM_B);

    expect((await budget.status(HOST)).usage.inFlight).toBe(2);
  });

  it('frees the slot when the consumer that took it releases it', async () => {
    const { budget } = world();
    const held = await budget.acquire(HOST, {}, TEAM_A);

    await budget.release(HOST, held.permitId, TEAM_A);

    expect((await budget.status(HOST)).usage.inFlight).toBe(0);
  });
});

describe("one client's share of the instance's concurrency", () => {
  it('is half of it by default: the sixth long lease of one client waits, the other client still gets its own', async () => {
    const { budget } = world();
    for (let i = 0; i < 5; i += 1) await budget.acquire(HOST, { count: 10, leaseMs: 60_000 }, TEAM_A);

    const refused = await budget.acquire(HOST, { count: 10, leaseMs: 60_000 }, TEAM_A).catch((e) => e);
    const other = await budget.acquire(HOST, {}, TEAM_B);

    expect(refused).toBeInstanceOf(PermitUnavailableError);
    expect((refused as PermitUnavailableError).reason).toBe('client-share');
    expect(other.usage?.inFlight).toBe(6);
  });

  it('is set per instance (clientShare)', async () => {
    const { budget } = world({ limits: { [HOST]: { clientShare: 0.3 } } });
    for (let i = 0; i < 3; i += 1) await budget.acquire(HOST, {}, TEAM_A);

    await expect(budget.acquire(HOST, {}, TEAM_A)).rejects.toMatchObject({ reason: 'client-share' });
  });

  it('comes back to the client when its leases lapse', async () => {
    const { budget, clock } = world();
    for (let i = 0; i < 5; i += 1) await budget.acquire(HOST, { leaseMs: 60_000 }, TEAM_A);
    await clock.advance(60_000);

    const permit = await budget.acquire(HOST, {}, TEAM_A);

    expect(permit.usage?.inFlight).toBe(1);
  });

  it('refuses a lease longer than 60 s', async () => {
    const { budget } = world();

    await expect(budget.acquire(HOST, { leaseMs: 60_001 }, TEAM_A)).rejects.toThrow(
      'leaseMs must be a whole number from 1000 to 60000',
    );
  });
});

describe("a consumer's 607", () => {
  it('does not close the day when Marketo cannot be asked', async () => {
    const { budget } = world();

    await budget.report(HOST, '607', TEAM_A);

    expect((await budget.acquire(HOST, {}, TEAM_B)).unmetered).toBe(false);
  });

  it("does not close the day when Marketo's usage says calls are still being served", async () => {
    const { budget } = world();
    const usage = marketoSays({ kind: 'counted', calls: 1_200, users: [] });

    await budget.report(HOST, '607', { ...TEAM_A, readUsage: usage });

    expect(usage.calls).toBe(1);
    expect((await budget.acquire(HOST, {}, TEAM_B)).usage?.dailyUsed).toBe(1_201);
  });

  it('closes the day for everyone when Marketo answers 607 to the vendor too', async () => {
    const { budget } = world();
    const usage = marketoSays({ kind: 'exhausted' });

    await budget.report(HOST, '607', { ...TEAM_A, readUsage: usage });

    await expect(budget.acquire(HOST, {}, TEAM_B)).rejects.toBeInstanceOf(DailyQuotaExhaustedError);
  });

  it('is confirmed with at most one Marketo call per 30 s, however many consumers report it', async () => {
    const { budget, clock } = world();
    const usage = marketoSays({ kind: 'counted', calls: 10, users: [] });

    for (let i = 0; i < 5; i += 1) await budget.report(HOST, '607', { ...TEAM_A, readUsage: usage });
    await clock.advance(30_000);
    await budget.report(HOST, '607', { ...TEAM_A, readUsage: usage });

    expect(usage.calls).toBe(2);
  });

  it("is confirmed under a permit of the instance's budget (the vendor's own call counts)", async () => {
    const { budget } = world();

    await budget.report(HOST, '607', {
      ...TEAM_A,
      readUsage: marketoSays({ kind: 'counted', calls: 0, users: [] }),
    });

    expect((await budget.status(HOST)).usage).toMatchObject({ windowCalls: 1, inFlight: 0 });
  });
});
