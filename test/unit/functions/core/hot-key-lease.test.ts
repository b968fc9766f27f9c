/**
 * Waiting on a hot key (issue 25): Lambdas waiting on another's lease poll eventually consistently with a
 * backoff and confirm once strongly consistently; throttled reads and lease writes are waited out under the lease.
 */
import { describe, expect, it } from 'vitest';
import type { TokenRecord, TokenStore } from '../../../../functions/core/ports.js';
import { createTokenVendor } from '../../../../functions/core/token-vendor.js';
import { FakeClock } from '../../../../testing/clocks.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../../../../testing/fake-identity.js';
import { limitKeyThroughput } from '../../../../testing/key-throughput-limit.js';
import { MemoryTokenStore } from '../../../../testing/memory-token-store.js';

const CLIENT = 'hot';

/** A client whose token expired, and a lease on it held by another Lambda (its refresh under way). */
async function leaseHeldElsewhere(store: TokenStore, clock: FakeClock): Promise<void> {
  await store.acquireLease(CLIENT, undefined, { owner: 'seed', leaseUntil: clock.now() + 1 }, 1);
  await store.completeLease(
    CLIENT,
    'seed',
    {
      token: {
        accessToken: 'expired-token:ab',
        tokenType: 'bearer',
        expiresAt: clock.now() - 1_000,
        obtainedAt: clock.now() - 3_601_000,
      },
    },
    1,
  );
  const record = (await store.get(CLIENT)) as TokenRecord;
  await store.acquireLease(
    CLIENT,
    record.version,
    { owner: 'elsewhere', leaseUntil: clock.now() + 15_000 },
    1,
  );
}

/** `inner` with its reads replaced by `get` (the other methods unchanged). */
const withGet = (inner: TokenStore, get: TokenStore['get']): TokenStore =>
  new Proxy(inner, {
    get: (target, key, receiver) => (key === 'get' ? get : Reflect.get(target, key, receiver)),
  });

/** Reads of the store, by consistency, with the instant each was made. */
function countingStore(inner: TokenStore, clock: FakeClock) {
  const reads: Array<{ at: number; consistent: boolean }> = [];
  const store = withGet(inner, (clientId, options) => {
    reads.push({ at: clock.now(), consistent: options?.consistent ?? true });
    return inner.get(clientId, options);
  });
  return { store, reads };
}

function world() {
  const clock = new FakeClock();
  const credentials = testCredentials(CLIENT);
  const identity = new FakeIdentity(clock, [credentials]);
  const memory = new MemoryTokenStore();
  const vendor = (store: TokenStore) =>
    createTokenVendor(
      { store, credentials: new MemoryCredentials([credentials]), identity, clock, random: () => 0.5 },
      {},
    );
  return { clock, identity, memory, vendor };
}

describe('waiting on another Lambda’s refresh lease', () => {
  it('polls with eventually consistent reads, backing off from 100 ms to 1.6 s', async () => {
    const w = world();
    await leaseHeldElsewhere(w.memory, w.clock);
    const { store, reads } = countingStore(w.memory, w.clock);
    const start = w.clock.now();
    const waiting = w.vendor(store).getToken(CLIENT, { maxWaitMs: 6_000 });
    await w.clock.settle(waiting.catch(() => undefined));
    const polls = reads.filter((r) => !r.consistent).map((r) => r.at - start);
    expect(polls.slice(0, 7)).toEqual([0, 100, 300, 700, 1_500, 3_100, 4_700]);
  });

  it('confirms with a strongly consistent read before acting on what a poll saw, and reads so only then', async () => {
    const w = world();
    await leaseHeldElsewhere(w.memory, w.clock);
    const { store, reads } = countingStore(w.memory, w.clock);
    const waiting = w.vendor(store).getToken(CLIENT, { maxWaitMs: 20_000 });
    // The holder crashed: its lease lapses after 15 s and the waiter takes over.
    const token = await w.clock.settle(waiting);
    expect(token.source).toBe('identity');
    // The vend's own first read, and the confirmation before it takes over the lapsed lease.
    expect(reads.filter((r) => r.consistent)).toHaveLength(2);
    expect(w.identity.callCount(CLIENT)).toBe(1);
  });

  it('keeps waiting when its reads are throttled, and never calls Identity without the lease', async () => {
    const w = world();
    await leaseHeldElsewhere(w.memory, w.clock);
    // Each waiter's first read (the expired token, the lease) goes through; then every read is throttled for
    // 2 s, as 5,000 waiters on one key would see.
    const limited = limitKeyThroughput(w.memory, w.clock, { readUnitsPerSecond: 0, random: () => 0.5 });
    const until = w.clock.now() + 2_000;
    let reads = 0;
    const store = withGet(w.memory, (clientId, options) => {
      reads += 1;
      return reads > 3 && w.clock.now() < until
        ? limited.store.get(clientId, options)
        : w.memory.get(clientId, options);
    });
    const waiters = Array.from({ length: 3 }, () => w.vendor(store).getToken(CLIENT, { maxWaitMs: 20_000 }));
    const tokens = await w.clock.settle(Promise.all(waiters));
    expect(limited.stats(CLIENT).failedReads).toBeGreaterThan(0);
    // They waited for the lease to lapse (15 s) and one refreshed under it: one Identity call, never three.
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    expect(w.identity.callCount(CLIENT)).toBe(1);
  });
});
