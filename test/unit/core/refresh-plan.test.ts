import { describe, expect, it } from 'vitest';
import { planRefreshBatches } from '../../../functions/core/refresh-plan.js';

describe('planRefreshBatches', () => {
  it('splits clients into batches of the given size', () => {
    const clients = Array.from({ length: 250 }, (_, i) => ({ clientId: `c-${i}` }));
    expect(planRefreshBatches(clients, 100).map((b) => b.length)).toEqual([100, 100, 50]);
  });

  it('never splits the members of one instance pool', () => {
    const clients = [
      { clientId: 'a' },
      { clientId: 'b' },
      { clientId: 'p1', instance: 'acme' },
      { clientId: 'c' },
      { clientId: 'p2', instance: 'acme' },
    ];
    const batches = planRefreshBatches(clients, 3);
    const withPool = batches.filter((b) => b.some((c) => c.instance === 'acme'));
    expect(withPool).toHaveLength(1);
    expect(withPool[0].filter((c) => c.instance === 'acme')).toHaveLength(2);
    expect(batches.flat()).toHaveLength(5);
  });

  it('refuses a batch size below one', () => {
    expect(() => planRefreshBatches([], 0)).toThrow(/batchSize must be a positive integer, got 0/);
  });
});
