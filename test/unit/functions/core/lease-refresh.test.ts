/**
 * The lease holder's outcome when the process stops mid-refresh (issue 26): a shutdown is not the client's
 * failure. Stopping local mode while a sweep retried a client whose Identity host did not resolve replaced
 * its real last error (ENOTFOUND) with "unexpected error during refresh".
 */
import { describe, expect, it } from 'vitest';
import { ShutdownInterruption, shutdownAwareClock } from '../../../../functions/core/clock.js';
import type { LastError } from '../../../../functions/core/ports.js';
import { createTokenVendor } from '../../../../functions/core/token-vendor.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../../../../testing/fake-identity.js';
import { MemoryTokenStore } from '../../../../testing/memory-token-store.js';
import { until } from '../../../../testing/until.js';

const REAL_ERROR: LastError = {
  code: 'IdentityUnavailable',
  message: 'Identity host could not be resolved (ENOTFOUND)',
  at: 1_700_000_000_000,
};

/** A vendor on the real, shutdown-aware clock, whose client already failed once and whose Identity is down. */
function stoppingWorld() {
  const shutdown = new AbortController();
  const clock = shutdownAwareClock(shutdown.signal);
  const record = testCredentials('client-a');
  const identity = new FakeIdentity(clock, [record]);
  identity.fail('unavailable', 'unavailable', 'unavailable', 'unavailable');
  const store = new MemoryTokenStore();
  store.items.set('client-a', { clientId: 'client-a', version: 3, lastError: REAL_ERROR });
  const vendor = createTokenVendor(
    { store, credentials: new MemoryCredentials([record]), identity, clock, instanceId: 'stopping' },
    { identityUrlPolicy: { allowedHosts: ['*.mktorest.com'] } },
  );
  /** Stops the process once Identity has been asked (the refresh then waits out its backoff). */
  const stopDuringRetry = async (): Promise<void> => {
    await until(() => identity.callCount('client-a') >= 1);
    shutdown.abort(new ShutdownInterruption('local vendor stopping'));
  };
  return { store, vendor, stopDuringRetry };
}

describe('a refresh interrupted by shutdown', () => {
  it("keeps the client's real last error", async () => {
    const w = stoppingWorld();

    await Promise.all([w.vendor.refreshAll({ horizonMs: 60_000 }), w.stopDuringRetry()]);

    expect(w.store.items.get('client-a')?.lastError).toEqual(REAL_ERROR);
  });

  it('gives the lease up at once, so the next start need not wait for it to lapse', async () => {
    const w = stoppingWorld();

    const outcome = await Promise.all([w.vendor.getToken('client-a'), w.stopDuringRetry()]).catch(
      (error: unknown) => error,
    );

    expect(outcome).toBeInstanceOf(ShutdownInterruption);
    const lease = w.store.items.get('client-a')?.lease;
    expect(lease === undefined || lease.leaseUntil <= Date.now()).toBe(true);
  });

  it('is not counted as a failed refresh in the sweep', async () => {
    const w = stoppingWorld();

    const [summary] = await Promise.all([w.vendor.refreshAll({ horizonMs: 60_000 }), w.stopDuringRetry()]);

    expect(summary.failed).toBe(0);
  });
});
