import { describe, expect, it } from 'vitest';
import type {
  MetricName,
  MetricsSink,
  RefreshMessage,
  RefreshQueue,
  RegisteredClient,
} from '../../../../functions/core/ports.js';
import {
  messagesFor,
  type RefreshPlanSettings,
  runRefreshPlan,
} from '../../../../functions/core/refresh-planner.js';
import { FakeClock } from '../../../../testing/clocks.js';
import { MemoryRefreshIndex, MemoryTokenStore } from '../../../../testing/memory-token-store.js';
import { MINUTE_PLAN_SETTINGS, silentLogger } from '../../../../testing/refresh-plan.js';

/** A planner world: a store with index entries, a recording queue, a listing that counts its calls. */
function plannerWorld(registered: readonly RegisteredClient[] = []) {
  const clock = new FakeClock();
  const store = new MemoryTokenStore();
  const index = new MemoryRefreshIndex(store);
  const sent: RefreshMessage[] = [];
  const queue: RefreshQueue = {
    send: async (messages) => {
      sent.push(...messages);
    },
  };
  let listings = 0;
  const credentials = {
    list: async () => {
      listings += 1;
      return [...registered];
    },
  };
  const recorded: Array<{ name: MetricName; value: number }> = [];
  const metrics: MetricsSink = { record: (name, value) => recorded.push({ name, value }) };
  const due = (clientId: string, inMs: number, instance?: string) =>
    store.items.set(clientId, {
      clientId,
      version: 1,
      refreshAt: clock.now() + inMs,
      ...(instance === undefined ? {} : { instance }),
    });
  const run = (settings: Partial<RefreshPlanSettings> = {}) =>
    runRefreshPlan(
      { index, queue, credentials, clock, logger: silentLogger, metrics },
      { ...MINUTE_PLAN_SETTINGS, ...settings },
    );
  const queuedIds = () => sent.flatMap((m) => m.clients.map((c) => c.clientId)).sort();
  return { clock, store, index, sent, due, run, queuedIds, recorded, listings: () => listings };
}

describe('runRefreshPlan', () => {
  it('queues only the refreshes due before the next run plus the margin, not every client', async () => {
    const w = plannerWorld();
    w.due('soon', 30_000);
    w.due('next-run', 110_000);
    w.due('later', 130_000);
    w.due('in-an-hour', 3_500_000);
    const summary = await w.run();
    expect(w.queuedIds()).toEqual(['next-run', 'soon']);
    expect(summary).toMatchObject({ queued: 2, overdue: 0, until: w.clock.now() + 120_000 });
  });

  it('makes each message visible the lead (250 ms) before its earliest refresh', async () => {
    const w = plannerWorld();
    w.due('a', 30_400);
    w.due('b', 30_900);
    await w.run();
    expect(w.sent).toEqual([
      { visibleAt: w.clock.now() + 30_150, clients: [{ clientId: 'a' }, { clientId: 'b' }] },
    ]);
  });

  it('puts refreshes due in different seconds in different messages', async () => {
    const w = plannerWorld();
    w.due('a', 10_300);
    w.due('b', 11_300);
    await w.run();
    expect(w.sent.map((m) => m.clients.map((c) => c.clientId))).toEqual([['a'], ['b']]);
  });

  it('queues the next window from where the previous run stopped, so no refresh is queued twice', async () => {
    const w = plannerWorld();
    w.due('first-window', 100_000);
    w.due('second-window', 150_000);
    await w.run();
    await w.clock.advance(60_000);
    await w.run();
    expect(w.sent.map((m) => m.clients.map((c) => c.clientId))).toEqual([
      ['first-window'],
      ['second-window'],
    ]);
  });

  it('queues a refresh still in the index a minute after it was due again, at once, and counts it overdue', async () => {
    const w = plannerWorld();
    w.due('lost', 30_000);
    await w.run();
    await w.clock.advance(120_000); // the message was lost: its refresh never happened
    const summary = await w.run();
    expect(summary.overdue).toBe(1);
    expect(w.sent.at(-1)).toEqual({ visibleAt: w.clock.now(), clients: [{ clientId: 'lost' }] });
    expect(w.recorded).toContainEqual({ name: 'RefreshOverdue', value: 1 });
  });

  it('reports a backlog of 0 on every run without one, so its alarm sees data', async () => {
    const w = plannerWorld();
    await w.run();
    expect(w.recorded).toContainEqual({ name: 'RefreshOverdue', value: 0 });
  });

  it('lists every registered client on its first run and then once an hour, queuing those not in the index', async () => {
    const w = plannerWorld([{ clientId: 'new', instance: 'acme' }, { clientId: 'indexed' }]);
    w.due('indexed', 3_000_000);
    const first = await w.run();
    expect(first).toMatchObject({ listed: 2, missing: 1 });
    expect(w.sent).toEqual([{ visibleAt: w.clock.now(), clients: [{ clientId: 'new', instance: 'acme' }] }]);
    for (let minute = 1; minute < 60; minute += 1) {
      await w.clock.advance(60_000);
      await w.run();
    }
    expect(w.listings()).toBe(1);
    await w.clock.advance(60_000);
    await w.run();
    expect(w.listings()).toBe(2);
  });

  it('queues nothing when another run moved the plan on first', async () => {
    const w = plannerWorld();
    w.due('a', 30_000);
    const stale = await w.index.readPlan();
    await w.run();
    const racing = await runRefreshPlan(
      {
        index: {
          readPlan: async () => stale,
          due: (range) => w.index.due(range),
          advancePlan: (expected, next) => w.index.advancePlan(expected, next),
        },
        queue: { send: async () => expect.unreachable('a superseded run must not send') },
        credentials: { list: async () => [] },
        clock: w.clock,
        logger: silentLogger,
        metrics: { record() {} },
      },
      MINUTE_PLAN_SETTINGS,
    );
    expect(racing).toMatchObject({ superseded: true, queued: 0 });
  });
});

describe('messagesFor', () => {
  it('splits a second with more refreshes than a message holds, keeping pool members side by side', () => {
    const planned = [
      { client: { clientId: 'z' }, dueAt: 5_000 },
      { client: { clientId: 'p2', instance: 'acme' }, dueAt: 5_100 },
      { client: { clientId: 'b' }, dueAt: 5_200 },
      { client: { clientId: 'p1', instance: 'acme' }, dueAt: 5_300 },
    ];
    expect(messagesFor(planned, 0, 0, 2).map((m) => m.clients.map((c) => c.clientId))).toEqual([
      ['b', 'z'],
      ['p1', 'p2'],
    ]);
  });

  it('makes a message for refreshes already due visible at once', () => {
    expect(messagesFor([{ client: { clientId: 'late' }, dueAt: 1_000 }], 5_000, 250, 100)).toEqual([
      { visibleAt: 5_000, clients: [{ clientId: 'late' }] },
    ]);
  });
});
