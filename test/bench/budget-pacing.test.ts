import { beforeAll, describe, expect, it } from 'vitest';
import { runVirtualBudget, type VirtualBudgetResult } from '../../bench/scenarios/budget-virtual.js';

// A small version of the budget scenario's virtual-clock runs (issue 27, permits without stalls): 4 vend
// instances x 8 greedy consumers on one budget store, FakeClock time, so nothing depends on the machine.
describe('permits without stalls (budget scenario, virtual clock, small)', () => {
  let paced: VirtualBudgetResult;
  let burst: VirtualBudgetResult;

  beforeAll(async () => {
    paced = await runVirtualBudget({ paced: true, durationMs: 90_000 });
    burst = await runVirtualBudget({ paced: false, durationMs: 90_000 });
  });

  it('sees no 606 or 615 at the simulated instance', () => {
    expect(paced).toMatchObject({ refused606: 0, refused615: 0, late: 0 });
  });

  it('keeps the longest wait near the consumers in line ÷ rate (32 + the burst of 6, 212.5 ms each)', () => {
    expect(paced.wait.max).toBeLessThanOrEqual(38 * 212.5);
    expect(burst.wait.max).toBeGreaterThan(20_000);
  });

  it("keeps the sustained rate at the accounting window's ceiling (100 per 21.25 s = 94 per 20 s)", () => {
    expect(paced.perWindow).toBeGreaterThanOrEqual(92);
  });
});
