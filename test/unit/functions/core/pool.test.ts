import { describe, expect, it } from 'vitest';
import { guaranteedRemainingMs, staggerDelayMs } from '../../../../functions/core/pool.js';

const L = 3_600_000;

describe('staggerDelayMs', () => {
  it('fetches at once when no other member has a live token', () => {
    expect(staggerDelayMs(0, L, [], 2)).toBe(0);
    expect(staggerDelayMs(10_000, L, [5_000], 2)).toBe(0);
  });

  it('delays the second member of a fresh pool of two by half a lifespan', () => {
    expect(staggerDelayMs(0, L, [L], 2)).toBe(L / 2);
  });

  it('places a third member in the middle of the largest gap', () => {
    // Others expire at L and L + L/2 (positions 0 and L/2): the gaps are equal; the delay lands a quarter
    // lifespan from one of them.
    const delay = staggerDelayMs(0, L, [L, L + L / 2], 3);
    expect([L / 4, (3 * L) / 4]).toContain(delay);
  });

  it('does not delay when the only other member would run out during the delay', () => {
    // Other member expires in 100 s: the ideal slot is ~30 min away, far past its expiry.
    expect(staggerDelayMs(0, L, [100_000], 2)).toBe(0);
  });

  it('fetches at once when the ideal slot has just passed instead of waiting a whole cycle', () => {
    expect(staggerDelayMs(L / 2 + 1_000, L, [L], 2)).toBe(0);
  });

  it('delays an expiring member when the other keeps the pool covered', () => {
    // Other member expires at 3600 s; this one expired at 100 s: ideal expiry is 1800 s after the other.
    expect(staggerDelayMs(100_000, L, [L], 2)).toBe(1_700_000);
  });
});

describe('guaranteedRemainingMs', () => {
  it('is the lifespan minus the largest gap', () => {
    expect(guaranteedRemainingMs([L, L + L / 2], L)).toBe(L / 2);
    expect(guaranteedRemainingMs([0, L / 3, (2 * L) / 3], L)).toBeCloseTo((2 * L) / 3);
  });

  it('is zero for one member', () => {
    expect(guaranteedRemainingMs([L], L)).toBe(0);
  });
});
