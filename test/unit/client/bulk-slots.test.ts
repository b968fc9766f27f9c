import { describe, expect, it } from 'vitest';
import { createBulkSlots } from '../../../client/bulk-slots.js';
import { TokenVendorClientError } from '../../../client/index.js';
import type { SignedCall, SignedCaller } from '../../../client/signed-call.js';

const NOW = Date.UTC(2026, 11, 1, 20, 0, 0);
const SLOT = '00000001-0000-4000-8000-000000000000';
const TARGET = { clientId: 'sync' };

/** A vendor answering slot calls from a script (then a granted slot), on a clock that moves only by sleeps. */
const world = (script: Array<TokenVendorClientError | object> = []) => {
  let now = NOW;
  const calls: SignedCall[] = [];
  const sleeps: number[] = [];
  const call: SignedCaller = async (request) => {
    calls.push(request);
    const answer = request.path.endsWith('/bulk-slots') ? script.shift() : { released: true };
    if (answer instanceof TokenVendorClientError) throw answer;
    return {
      body: answer ?? { slotId: SLOT, instance: 'i.mktorest.com', kind: 'extract', unmetered: false },
      sentAt: now,
      receivedAt: now,
    };
  };
  const clock = {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
  return {
    slots: createBulkSlots({ call, clock, random: () => 0 }),
    calls,
    sleeps,
    advance: (ms: number) => (now += ms),
  };
};

const busy = (retryAfterMs: number) =>
  new TokenVendorClientError('BulkSlotUnavailable', 'every extract place is held', {
    status: 429,
    retryAfterMs,
  });

describe('client: Bulk API slots', () => {
  it('asks for a slot of its kind with its lease and expected bytes', async () => {
    const { slots, calls } = world();
    const slot = await slots.acquire(TARGET, { kind: 'extract', leaseMs: 60_000, expectedBytes: 5 });
    expect(slot).toMatchObject({
      slotId: SLOT,
      kind: 'extract',
      unmetered: false,
      leaseExpiresAt: NOW + 60_000,
    });
    expect(calls.map((c) => [c.path, c.body])).toEqual([
      ['/tokens/sync/bulk-slots', { kind: 'extract', leaseMs: 60_000, expectedBytes: 5 }],
    ]);
  });

  it('waits as long as the vendor names while every place is held, then takes the freed one', async () => {
    const { slots, sleeps } = world([busy(5_000), busy(1_200)]);
    const slot = await slots.acquire(TARGET, { kind: 'extract' });
    expect(sleeps).toEqual([5_000, 1_200]);
    expect(slot.waitedMs).toBe(6_200);
  });

  it('throws BulkSlotUnavailable once its wait would pass maxWaitMs', async () => {
    const { slots } = world([busy(5_000), busy(5_000)]);
    await expect(slots.acquire(TARGET, { kind: 'extract', maxWaitMs: 8_000 })).rejects.toMatchObject({
      code: 'BulkSlotUnavailable',
    });
  });

  it('throws DailyExportQuotaExhausted at once, with the reset time', async () => {
    const resetsAt = Date.UTC(2026, 11, 2, 6, 0, 0);
    const { slots, sleeps } = world([
      new TokenVendorClientError('DailyExportQuotaExhausted', 'used up', { status: 429, resetsAt }),
    ]);
    await expect(slots.acquire(TARGET, { kind: 'extract' })).rejects.toMatchObject({ resetsAt });
    expect(sleeps).toEqual([]);
  });

  it('goes on unmetered (and stops asking) when the vendor has no slot routes for it', async () => {
    const { slots, calls } = world([new TokenVendorClientError('NotFound', 'no route', { status: 404 })]);
    const first = await slots.acquire(TARGET, { kind: 'extract' });
    const second = await slots.acquire(TARGET, { kind: 'import' });
    await first.release(10);
    expect([first.unmetered, second.unmetered]).toEqual([true, true]);
    expect(calls).toHaveLength(1);
  });

  it('renews only once less than half its lease is left', async () => {
    const { slots, calls, advance } = world();
    const slot = await slots.acquire(TARGET, { kind: 'extract', leaseMs: 60_000 });
    advance(29_000);
    await slot.renewIfDue();
    advance(2_000);
    await slot.renewIfDue();
    expect(calls.map((c) => c.path)).toEqual(['/tokens/sync/bulk-slots', '/tokens/sync/bulk-slots/renew']);
    expect(slot.leaseExpiresAt).toBe(NOW + 31_000 + 60_000);
  });

  it('reports the end with the bytes once, however often release is called', async () => {
    const { slots, calls } = world();
    const slot = await slots.acquire(TARGET, { kind: 'extract' });
    await slot.release(1_234);
    await slot.release(1_234);
    expect(calls.slice(1).map((c) => [c.path, c.body])).toEqual([
      ['/tokens/sync/bulk-slots/release', { slotId: SLOT, bytes: 1_234 }],
    ]);
  });
});
