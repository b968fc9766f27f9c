import { beforeAll, describe, expect, it } from 'vitest';
import { type ExpiryGapResult, runExpiryGap } from '../../bench/scenarios/expiry-gap.js';

// A small, fast version of benchmark scenario 6: real time, a 6 s token lifespan, refresher every 2 s.
describe('expiry gap with the refresher on (bench scenario 6, small)', () => {
  let result: ExpiryGapResult;

  beforeAll(async () => {
    result = await runExpiryGap({
      lifespanSeconds: 6,
      durationMs: 10_000,
      refreshEveryMs: 2_000,
      instances: 2,
      consumersPerInstance: 3,
      pauseMs: 50,
      minValiditySeconds: 1,
      identityLatencyMs: 20,
      probeEvery: 3,
    });
  }, 30_000);

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
