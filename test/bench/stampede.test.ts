import { beforeAll, describe, expect, it } from 'vitest';
import { runStampede, type StampedeResult } from '../../bench/scenarios/stampede.js';

// A small, fast version of benchmark scenario 1: real worker processes, real SDK clients, loopback only.
describe('stampede across worker processes (bench scenario 1, small)', () => {
  const consumers = 40;
  let result: StampedeResult;

  beforeAll(async () => {
    result = await runStampede({ sizes: [consumers], rounds: 1, workers: 4, identityLatencyMs: 50 });
    // Real worker processes start (and load the SDK) in real time: a few seconds idle, over 29 s with every
    // core busy; the bound holds on a machine ten times slower.
  }, 120_000);

  it('makes exactly one Identity call when 40 consumers in 4 processes meet an expired token', () => {
    expect(result.sizes[0]?.vendor[0]?.identityCalls).toBe(1);
  });

  it('gives every consumer the same, new token', () => {
    expect(result.sizes[0]?.vendor[0]).toMatchObject({
      failures: 0,
      distinctTokens: 1,
      gotExpiredToken: false,
    });
  });

  it('counts one Identity call per consumer for the per-job baseline', () => {
    expect(result.sizes[0]?.baseline[0]?.identityCalls).toBe(consumers);
  });

  it('reports no broken invariant', () => {
    expect(result.violations).toEqual([]);
  });
});
