/**
 * Issue 13: "MaxListenersExceededWarning: 11 abort listeners added to [AbortSignal]" when 200 concurrent
 * requests meet one refresh in local mode. Each waiter's deadline is a sleep on the clock, and local mode's
 * clock listened on its one long-lived shutdown signal once per sleep. One listener must serve them all.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shutdownAwareClock } from '../../../../functions/core/clock.js';
import { createMemoryVendor } from '../../../../testing/memory-vendor.js';

let warnings: Error[] = [];
const onWarning = (warning: Error): void => {
  warnings.push(warning);
};

beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});

afterEach(() => {
  process.off('warning', onWarning);
});

/** Lets process warnings (emitted on the next tick) arrive. */
const nextTicks = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('shutdownAwareClock', () => {
  it('lets 200 concurrent vends meet one refresh without a MaxListenersExceededWarning', async () => {
    const shutdown = new AbortController();
    const clock = shutdownAwareClock(shutdown.signal);
    const { identity, vendor: instance } = createMemoryVendor({
      clock,
      config: { identityUrlPolicy: { allowedHosts: ['*.mktorest.com'] } },
    });
    // Long enough that all 200 are waiting on the one refresh at once, whatever the machine's speed.
    identity.latencyMs = 200;
    const vendor = instance();
    const tokens = await Promise.all(Array.from({ length: 200 }, () => vendor.getToken('client-a')));
    await nextTicks();
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    expect(identity.callCount()).toBe(1);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual(
      [],
    );
  });

  it('ends every pending sleep when shutdown aborts', async () => {
    const shutdown = new AbortController();
    const clock = shutdownAwareClock(shutdown.signal);
    const sleeps = Array.from({ length: 50 }, () => clock.sleep(60_000));
    const reason = new Error('stopping');
    shutdown.abort(reason);
    const outcomes = await Promise.allSettled(sleeps);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason === reason)).toBe(true);
  });

  it('ends one sleep when its own signal aborts and leaves the others running', async () => {
    const shutdown = new AbortController();
    const clock = shutdownAwareClock(shutdown.signal);
    const own = new AbortController();
    const cancelled = clock.sleep(60_000, own.signal);
    const other = clock.sleep(10);
    own.abort(new Error('caller gave up'));
    await expect(cancelled).rejects.toThrow('caller gave up');
    await expect(other).resolves.toBeUndefined();
  });

  it('refuses to sleep once shutdown has aborted', async () => {
    const shutdown = new AbortController();
    shutdown.abort(new Error('stopped'));
    await expect(shutdownAwareClock(shutdown.signal).sleep(10)).rejects.toThrow('stopped');
  });
});
