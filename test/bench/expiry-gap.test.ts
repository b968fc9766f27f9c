import { beforeAll, describe, expect, it } from 'vitest';
import { type ExpiryGapResult, runExpiryGap } from '../../bench/scenarios/expiry-gap.js';

// A small version of benchmark scenario 6: real time, a 6 s token lifespan, refresher every 2 s. Real time
// is the scenario's point (a real refresher against real expiries): 16 s leave a busy machine room for the
// first expiry (6 s, plus 2.5 s slack) and a rotation; the hook's bound holds on a machine ten times slower.
describe('expiry gap with the refresher on (bench scenario 6, small)', () => {
  let result: ExpiryGapResult;

  beforeAll(async () => {
    result = await runExpiryGap({
      lifespanSeconds: 6,
      durationMs: 16_000,
      refreshEveryMs: 2_000,
      instances: 2,
      consumersPerInstance: 3,
      pauseMs: 50,
      minValiditySeconds: 1,
      identityLatencyMs: 20,
      probeEvery: 3,
    });
  }, 120_000);

  it('sees at least one token rotation while consumers keep asking', () => {
    expect(result.rotations).toBeGreaterThanOrEqual(1);
    expect(result.vends).toBeGreaterThan(0);
  });

  it('never hands out a token with less than minValidity left', () => {
    expect(result.underValidity).toBe(0);
  });

  it('hands out only tokens Marketo accepts (no 601/602 on REST probes)', () => {
    expect(result.probes).toBeGreaterThan(0);
    expect(result.probeFailures).toBe(0);
  });
});
