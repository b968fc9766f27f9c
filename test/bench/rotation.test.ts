import { beforeAll, describe, expect, it } from 'vitest';
import { ROTATION_ROWS, type RotationRowResult, runRotation } from '../../bench/scenarios/rotation-run.js';

// A small version of benchmark scenario 8 on its virtual clock (what it sees does not depend on this machine's
// speed): 8 library consumers over 2 vend handlers across one real 3,600 s expiry, old and new defaults.
describe('library consumers across a token expiry (bench scenario 8, small)', () => {
  let before: RotationRowResult;
  let now: RotationRowResult;

  // Real time bounds only the run, not what it sees (the virtual clock waits for the I/O): about 30 s on this
  // machine under a full suite's load, so 300 s leaves a machine ten times slower room.
  beforeAll(async () => {
    const [legacy, defaults] = ROTATION_ROWS;
    if (!legacy || !defaults) throw new Error('scenario 8 lost its rows');
    const result = await runRotation({ expiries: 1, consumers: 8, instances: 2, rows: [legacy, defaults] });
    [before, now] = result.rows as [RotationRowResult, RotationRowResult];
  }, 300_000);

  it('surfaces no error to consumers with the library defaults', () => {
    expect(now.calls).toBeGreaterThan(100);
    expect(now.errors).toEqual({});
  });

  it('surfaced TokenRotating with the old defaults (minValidity 60 s, 10 s budget): the before row', () => {
    expect(before.errors.TokenRotating ?? 0).toBeGreaterThan(0);
  });

  it('leaves no Marketo call refused with 601/602 after the library’s one retry', () => {
    expect(now.refusedAfterRetry).toBe(0);
  });

  it('makes one Identity call for the expiry', () => {
    expect(now.identityCallsPerExpiry).toEqual([1]);
  });

  it('keeps per-request calls (marketoFetch, 1 s) waiting at most 3 s, and getToken (20 s) at most its validity plus 5 s', () => {
    expect(now.marketoFetch.maxWaitMs).toBeLessThanOrEqual(3_000);
    expect(now.getToken.maxWaitMs).toBeLessThanOrEqual(25_000);
  });

  it('never hands getToken a token with less than it asked for', () => {
    expect(now.underValidity).toBe(0);
  });
});
