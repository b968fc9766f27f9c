/**
 * Issue 15, engine part: a short gap at expiry. Marketo issues a client's next token only once the current
 * one has expired, so the engine asks at the expiry; when clocks agree the successor is in the store within
 * 1 s, and with instances ±2 s apart it is still never early by more than one extra Identity call.
 * All on a fake clock: instances are skewed views of one true time, which Identity (the fake) keeps.
 */
import { describe, expect, it } from 'vitest';
import type { Clock, IdentityClient, StoredToken } from '../../../../functions/core/ports.js';
import type { FakeClock } from '../../../../testing/clocks.js';
import { createMemoryVendor } from '../../../../testing/memory-vendor.js';

const LIFESPAN_S = 3600;

/** One instance's view of the true time, `offsetMs` ahead (negative: behind). */
class SkewedClock implements Clock {
  constructor(
    private readonly truth: FakeClock,
    private readonly offsetMs: number,
  ) {}
  now(): number {
    return this.truth.now() + this.offsetMs;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.truth.sleep(ms, signal);
  }
}

function world() {
  const w = createMemoryVendor({ lifespanSeconds: LIFESPAN_S });
  const { clock, store } = w;
  /** True time of every Identity call. */
  const callTimes: number[] = [];
  /** Per call, in order: how long after the request Identity reads its clock (then it answers at once). */
  const delayBeforeIdentityMs: number[] = [];
  const identity: IdentityClient = {
    fetchToken: async (credentials) => {
      callTimes.push(clock.now());
      const delayMs = delayBeforeIdentityMs.shift() ?? 0;
      if (delayMs > 0) await clock.sleep(delayMs);
      return w.identity.fetchToken(credentials);
    },
  };
  const vendor = (skewMs = 0, random = () => 0.5) =>
    w.vendor({}, { identity, clock: skewMs === 0 ? clock : new SkewedClock(clock, skewMs), random });
  /** True time at which the store first held a token other than `old` (polled every 10 ms). */
  const watchSuccessor = (old: string): { at?: number } => {
    const seen: { at?: number } = {};
    const poll = async (): Promise<void> => {
      while (seen.at === undefined) {
        const token: StoredToken | undefined = store.items.get('client-a')?.token;
        if (token && token.accessToken !== old) seen.at = clock.now();
        else await clock.sleep(10);
      }
    };
    void poll();
    return seen;
  };
  return { clock, fake: w.identity, callTimes, delayBeforeIdentityMs, store, vendor, watchSuccessor };
}

describe('expiry gap', () => {
  it('stores the successor within 1 s of the expiry when clocks agree', async () => {
    const w = world();
    const first = await w.clock.settle(w.vendor().getToken('client-a'));
    const trueExpiry = w.fake.current('client-a')?.expiresAt ?? 0;
    await w.clock.advance(first.expiresInSeconds * 1000 - 10_000);
    const seen = w.watchSuccessor(first.accessToken);
    const next = await w.clock.settle(
      w.vendor().getToken('client-a', { minValiditySeconds: 60, maxWaitMs: 20_000 }),
    );
    await w.clock.advance(20); // one more poll of the watcher
    expect(next.accessToken).not.toBe(first.accessToken);
    expect((seen.at ?? Number.POSITIVE_INFINITY) - trueExpiry).toBeLessThanOrEqual(1_000);
    expect(w.callTimes).toHaveLength(2);
  });

  it('asks for the successor once, not early, when the answer that brought the previous token was slow', async () => {
    const w = world();
    // Identity reads its clock 900 ms after the first request was sent (a slow network on the way in):
    // the stored expiry, reckoned from the send time, is 900 ms early.
    w.delayBeforeIdentityMs.push(900);
    const first = await w.clock.settle(w.vendor().getToken('client-a'));
    const trueExpiry = w.fake.current('client-a')?.expiresAt ?? 0;
    await w.clock.advance(first.expiresInSeconds * 1000 - 10_000);
    const seen = w.watchSuccessor(first.accessToken);
    await w.clock.settle(w.vendor().getToken('client-a', { minValiditySeconds: 60, maxWaitMs: 20_000 }));
    await w.clock.advance(20); // one more poll of the watcher
    expect(w.callTimes).toHaveLength(2);
    expect(w.callTimes[1]).toBeGreaterThanOrEqual(trueExpiry);
    expect((seen.at ?? Number.POSITIVE_INFINITY) - trueExpiry).toBeLessThanOrEqual(1_000);
  });

  it('re-asks within about a second after Identity answers the old token with expires_in 0', async () => {
    const w = world();
    const first = await w.clock.settle(w.vendor().getToken('client-a'));
    await w.clock.advance(first.expiresInSeconds * 1000 + 1);
    w.fake.fail({ expiresIn: 0 });
    const next = await w.clock.settle(w.vendor().getToken('client-a'));
    expect(next.accessToken).not.toBe(first.accessToken);
    expect(w.callTimes).toHaveLength(3);
    const [, zeroAnswer, reAsk] = w.callTimes;
    expect(reAsk - zeroAnswer).toBeGreaterThanOrEqual(250);
    expect(reAsk - zeroAnswer).toBeLessThanOrEqual(1_250);
  });

  it('spreads re-asks after expires_in 0 with jitter', async () => {
    const gaps: number[] = [];
    for (const random of [() => 0, () => 0.99]) {
      const w = world();
      const first = await w.clock.settle(w.vendor(0, random).getToken('client-a'));
      await w.clock.advance(first.expiresInSeconds * 1000 + 1);
      w.fake.fail({ expiresIn: 0 });
      await w.clock.settle(w.vendor(0, random).getToken('client-a'));
      gaps.push(w.callTimes[2] - w.callTimes[1]);
    }
    expect(gaps[1]).toBeGreaterThan(gaps[0]);
  });

  it.each([
    [-2_000, 0, 2_000],
    [2_000, -2_000, 0],
    [0, 2_000, -2_000],
  ])(
    'rotates with at most one extra Identity call and serves no dead token, instances skewed %i, %i and %i ms',
    async (...skews) => {
      const w = world();
      const first = await w.clock.settle(w.vendor().getToken('client-a'));
      const trueExpiry = w.fake.current('client-a')?.expiresAt ?? 0;
      await w.clock.advance(first.expiresInSeconds * 1000 - 10_000);
      const callsBefore = w.callTimes.length;
      const vendors = skews.map((skew) => w.vendor(skew));
      const tokens = await w.clock.settle(
        Promise.all(
          vendors.flatMap((vendor) =>
            Array.from({ length: 5 }, () =>
              vendor.getToken('client-a', { minValiditySeconds: 30, maxWaitMs: 20_000 }),
            ),
          ),
        ),
      );
      const successor = w.fake.current('client-a');
      expect(w.callTimes.length - callsBefore).toBeLessThanOrEqual(2);
      expect(w.callTimes.slice(callsBefore).filter((t) => t >= trueExpiry)).toHaveLength(1);
      for (const token of tokens) {
        expect(token.accessToken).toBe(successor?.accessToken);
        expect((successor?.expiresAt ?? 0) - w.clock.now()).toBeGreaterThanOrEqual(30_000);
      }
    },
  );

  it('never serves a token that really expired when its writer ran 2 s fast and its reader 2 s slow', async () => {
    const w = world();
    const written = await w.clock.settle(w.vendor(2_000).getToken('client-a'));
    const trueExpiry = w.fake.current('client-a')?.expiresAt ?? 0;
    await w.clock.advance(trueExpiry - w.clock.now() + 500);
    const served = await w.clock.settle(w.vendor(-2_000).getToken('client-a', { minValiditySeconds: 0 }));
    expect(served.accessToken).not.toBe(written.accessToken);
    expect(served.accessToken).toBe(w.fake.current('client-a')?.accessToken);
  });
});
