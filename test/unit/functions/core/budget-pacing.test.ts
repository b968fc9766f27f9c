/**
 * Permits without stalls (issue 27): grants spread over the rate window in arrival order, with a fake clock.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBudgetStore } from '../../../../functions/adapters/memory-budget-store.js';
import { createInstanceBudget, PermitUnavailableError } from '../../../../functions/core/budget/index.js';
import { FakeClock } from '../../../../testing/clocks.js';

const HOST = '123-abc-456.mktorest.com';
const START = Date.UTC(2026, 11, 1, 20, 0, 0);
/** 100 calls per 20 s counted for 21.25 s (the accounting margin): one call due every 212.5 ms. */
const INTERVAL_MS = 21_250 / 100;

const world = () => {
  const clock = new FakeClock(START);
  const budget = createInstanceBudget({ store: new MemoryBudgetStore(), clock, random: () => 0 });
  return { clock, budget };
};

describe('pacing', () => {
  it('grants an idle instance a burst of 6 at once, then one call about every 212.5 ms in arrival order', async () => {
    const { clock, budget } = world();

    const permits = await clock.settle(
      Promise.all(
        Array.from({ length: 12 }, () => budget.acquire(HOST, { concurrency: false, maxWaitMs: 20_000 })),
      ),
    );

    // Due instants 212.5, 425, 637.5, … rounded up to the 100 ms grant bucket.
    expect(permits.map((p) => p.waitedMs)).toEqual([0, 0, 0, 0, 0, 0, 300, 500, 700, 900, 1_100, 1_300]);
  });

  it('tells a caller that will not wait how long until its slot, without scheduling it', async () => {
    const { clock, budget } = world();
    await clock.settle(
      Promise.all(Array.from({ length: 6 }, () => budget.acquire(HOST, { concurrency: false }))),
    );

    const refused = await budget.acquire(HOST, { concurrency: false }).catch((e: unknown) => e);
    const next = await clock.settle(budget.acquire(HOST, { concurrency: false, maxWaitMs: 1_000 }));

    expect(refused).toBeInstanceOf(PermitUnavailableError);
    expect(refused).toMatchObject({ reason: 'rate', retryAfterMs: 300 });
    expect(next.waitedMs).toBe(300);
  });

  it('keeps 32 greedy consumers at the window rate without a stall: each waits about 32 ÷ rate, never the whole window', async () => {
    const { clock, budget } = world();
    const consumers = 32;
    const deadline = START + 120_000;
    const grantedAt: number[] = [];
    const waits: number[] = [];
    let refused = 0;
    const consumer = async () => {
      // When the consumer first asked for its current call (a refusal makes it ask again, still waiting).
      let firstAsked = clock.now();
      while (clock.now() < deadline) {
        const asked = clock.now();
        try {
          const permit = await budget.acquire(HOST, { maxWaitMs: 10_000 });
          grantedAt.push(asked + permit.waitedMs);
          waits.push(asked + permit.waitedMs - firstAsked);
          await clock.sleep(150); // the Marketo call
          await budget.release(HOST, permit.permitId);
          firstAsked = clock.now();
        } catch (error) {
          if (!(error instanceof PermitUnavailableError)) throw error;
          refused += 1;
          await clock.sleep(error.retryAfterMs);
        }
      }
    };

    await clock.settle(Promise.all(Array.from({ length: consumers }, consumer)));

    // Marketo's window seen from a call sent up to the use-by time (750 ms) after its grant: never above 100.
    for (const t of grantedAt) {
      expect(grantedAt.filter((u) => u > t - 20_000 - 750 && u <= t).length).toBeLessThanOrEqual(100);
    }
    // The sustained rate is the window's (100 per 21.25 s) after the first window.
    const steady = grantedAt.filter((t) => t >= START + 21_250 && t < START + 106_250).length;
    expect(steady).toBeGreaterThanOrEqual(396);
    // Longest wait: the consumers ahead (32 ÷ rate) plus the idle burst's 6 calls; never a window's roll.
    expect(Math.max(...waits)).toBeLessThanOrEqual((consumers + 6) * INTERVAL_MS + 100);
    expect(refused).toBe(0);
  });
});
