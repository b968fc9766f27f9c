import { describe, expect, it } from 'vitest';
import { MemoryBudgetStore } from '../../../../functions/adapters/memory-budget-store.js';
import { consumerOf, createUsageRecorder, emptyCounts } from '../../../../functions/core/budget/index.js';
import { FakeClock } from '../../../../testing/clocks.js';

const HOST = '123-abc-456.mktorest.com';
// 2026-12-01 20:00 UTC = 14:00 in Chicago: quota day 2026-12-01.
const START = Date.UTC(2026, 11, 1, 20, 0, 0);
const DAY = '2026-12-01';
const SYNC = {
  target: { clientId: 'sync' },
  principal: 'arn:aws:sts::111111111111:assumed-role/sync/i-0abc',
};

const world = () => {
  const clock = new FakeClock(START);
  const store = new MemoryBudgetStore();
  const recorder = createUsageRecorder({
    store,
    clock,
    instanceOfClient: async (clientId) => (clientId === 'sync' ? HOST : Promise.reject(new Error('unknown'))),
  });
  return { clock, store, recorder };
};

describe('consumerOf', () => {
  it("folds an assumed role's session away (one consumer per role, however many sessions)", () => {
    expect(consumerOf('arn:aws:sts::111111111111:assumed-role/sync/i-0abc')).toBe(
      'arn:aws:sts::111111111111:assumed-role/sync',
    );
  });

  it('keeps a user ARN as it is', () => {
    expect(consumerOf('arn:aws:iam::111111111111:user/ci')).toBe('arn:aws:iam::111111111111:user/ci');
  });
});

describe('usage recorder', () => {
  it('books calls, vends and limit errors per client and consumer in one write', async () => {
    const { store, recorder } = world();
    recorder.record(HOST, SYNC, { calls: 3 });
    recorder.record(HOST, SYNC, { calls: 2, marketo606: 1 });
    recorder.recordVend({ clientId: 'sync' }, 'sync', SYNC.principal);

    await recorder.flush();

    expect(await store.readUsage(HOST, DAY)).toEqual([
      {
        client: 'c:sync',
        consumer: 'arn:aws:sts::111111111111:assumed-role/sync',
        counts: { ...emptyCounts(), calls: 5, vends: 1, marketo606: 1 },
      },
    ]);
    expect(store.writes).toBe(1);
  });

  it('writes at most once a second however many calls are booked', async () => {
    const { clock, store, recorder } = world();
    recorder.record(HOST, SYNC, { calls: 1 });
    await recorder.flush();

    recorder.record(HOST, SYNC, { calls: 1 });
    await recorder.flushIfDue();
    const before = store.writes;
    await clock.advance(1_000);
    await recorder.flushIfDue();

    expect(before).toBe(1);
    expect(store.writes).toBe(2);
    expect((await store.readUsage(HOST, DAY))[0]?.counts.calls).toBe(2);
  });

  it('never fails the caller when the store cannot be written', async () => {
    const { store, recorder } = world();
    store.setFailing(true);
    recorder.record(HOST, SYNC, { calls: 1 });

    await expect(recorder.flush()).resolves.toBeUndefined();
  });

  it('drops the vends of a client whose instance is unknown', async () => {
    const { store, recorder } = world();
    recorder.recordVend({ clientId: 'gone' }, 'gone', SYNC.principal);

    await recorder.flush();

    expect(store.writes).toBe(0);
  });
});
