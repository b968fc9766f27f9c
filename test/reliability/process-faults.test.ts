import { DEFAULT_TOKEN_VENDOR_CONFIG, type TokenVendorConfig } from '../../functions/core/vendor-config.js';
import { describe, expect, test } from '../../testing/fixture.js';
import { until } from '../../testing/until.js';
import { startWorld } from '../../testing/world.js';
import { captureError, FreezableIdentity, makeVendor, SkewedClock } from './harness.js';

/**
 * What ±2 s of clock skew between instances needs: the wait after expiry must exceed the skew (so the
 * earliest clock does not ask Identity before the token really expired) and the "not yet rotated"
 * guard must exceed twice the skew (writer and reader skewed in opposite directions). The shipped
 * defaults (1 s slack, 3 s guard) cover about ±1 s; see docs/reliability.md.
 */
/** The shipped defaults cover ±2 s of skew; they override the loopback world's short test slack. */
const SKEW_ALLOWANCE: Partial<TokenVendorConfig> = {
  expirySlackMs: DEFAULT_TOKEN_VENDOR_CONFIG.expirySlackMs,
  rotationGuardSeconds: DEFAULT_TOKEN_VENDOR_CONFIG.rotationGuardSeconds,
};
const SKEWS_MS = [-2_000, 0, 2_000];

// Every describe is concurrent, so the file's tests run side by side; each moves its world's clock, so each has
// a world of its own (`ownWorld`, or one it starts).

describe.concurrent('lease holder killed mid-refresh', () => {
  test('lets another instance take over once the lease lapses, with one Identity call at Marketo', async ({
    ownWorld: world,
  }) => {
    const clientId = world.newClient('process-fault');
    const frozen = new FreezableIdentity();
    frozen.frozen.add(clientId);
    // A lease long enough that no busy machine outlives it by accident (an 800 ms lease also capped the
    // taker's Identity call at what was left of it, which timed out under load); the lapse is made by moving
    // the clock past it, so the order of events is the same on any machine.
    const config = { leaseDurationMs: 30_000 };
    const killed = makeVendor(world, { identity: frozen, config, instanceId: 'killed-holder' });
    // 4 s to reach the lease before it gives up: the set-up's reads take real time (about 50 ms idle).
    const abandoned = await captureError(() => killed.getToken(clientId, { maxWaitMs: 4_000 }));
    expect(abandoned.name).toBe('IdentityUnavailable');
    const held = await world.store().get(clientId);
    expect(held?.lease?.owner).toBe('killed-holder');
    const leaseUntil = held?.lease?.leaseUntil ?? 0;
    world.clock.offsetMs = leaseUntil - Date.now() + 1;

    // 20 s: a real Identity call, which took over 2 s with every core busy.
    const token = await makeVendor(world, { config })
      .getToken(clientId, { maxWaitMs: 20_000 })
      .finally(() => {
        world.clock.offsetMs = 0;
      });
    expect(token.source).toBe('identity');
    expect(world.simulator.identityCalls(clientId)).toBe(1);
    const record = await world.store().get(clientId);
    expect(record?.lease).toBeUndefined();
    expect(record?.token?.accessToken).toBe(token.accessToken);
  });
});

describe.concurrent('clock skew of ±2 s between instances', () => {
  // Issue 15: the engine asks at the expiry (not 2.5 s after it); a clock running ahead may ask once early,
  // learns from `expires_in` when the token really dies, and asks once more.
  test('rotates an expiring token with at most one extra Identity call across instances skewed -2, 0 and +2 s', async ({
    ownWorld: world,
  }) => {
    const clientId = world.newClient('process-fault');
    const first = await makeVendor(world).getToken(clientId);
    world.simulator.resetCounters();
    // 7.5 s before the true expiry: even the fast clock sees more than the rotation guard left.
    world.clock.offsetMs = first.expiresAt - Date.now() - 7_500;
    try {
      const vendors = SKEWS_MS.map((skew) =>
        makeVendor(world, {
          clock: new SkewedClock(world.clock, skew),
          config: { ...SKEW_ALLOWANCE, leaseDurationMs: 3_000 },
        }),
      );
      const tokens = await Promise.all(
        vendors.map((vendor) => vendor.getToken(clientId, { minValiditySeconds: 30, maxWaitMs: 15_000 })),
      );
      const current = world.simulator.currentToken(clientId);
      expect(world.simulator.identityCalls(clientId)).toBeLessThanOrEqual(2);
      for (const token of tokens) {
        expect(token.accessToken).not.toBe(first.accessToken);
        expect(token.accessToken).toBe(current?.accessToken);
      }
      expect((current?.expiresAt ?? 0) - world.clock.now()).toBeGreaterThan(3_500_000);
      expect(world.clock.now()).toBeGreaterThan(first.expiresAt);
    } finally {
      world.clock.offsetMs = 0;
    }
  });

  test('never serves a token that really expired, even when its writer ran 2 s fast and its reader 2 s slow', async ({
    ownWorld: world,
  }) => {
    const clientId = world.newClient('process-fault');
    const fastWriter = makeVendor(world, {
      clock: new SkewedClock(world.clock, 2_000),
      config: SKEW_ALLOWANCE,
    });
    const written = await fastWriter.getToken(clientId);
    const trueExpiry = world.simulator.currentToken(clientId)?.expiresAt ?? 0;
    world.clock.offsetMs = trueExpiry - Date.now() + 500;
    try {
      const slowReader = makeVendor(world, {
        clock: new SkewedClock(world.clock, -2_000),
        config: SKEW_ALLOWANCE,
      });
      // The writer's clock put the expiry 2 s late and the reader's clock runs 2 s slow: the reader sees
      // 3.5 s left and waits for that expiry (plus slack) rather than ask Identity early.
      const served = await slowReader.getToken(clientId, { minValiditySeconds: 0, maxWaitMs: 10_000 });
      expect(served.accessToken).not.toBe(written.accessToken);
      expect(world.simulator.currentToken(clientId)?.accessToken).toBe(served.accessToken);
      expect(world.simulator.identityCalls(clientId)).toBe(2);
    } finally {
      world.clock.offsetMs = 0;
    }
  });
});

describe.concurrent('refresher invocation killed half-way', () => {
  test('leaves finished clients stored, and the next run completes the rest', async () => {
    const local = await startWorld();
    try {
      const ids = Array.from({ length: 6 }, (_, i) => `sweep-${i}`);
      for (const id of ids) local.register(id);
      const frozen = new FreezableIdentity();
      for (const id of ids.slice(3)) frozen.frozen.add(id);
      // Leases and Identity timeouts no busy machine reaches (a 800 ms lease once lapsed under the answering
      // clients' own calls, failing them); the lapse the next run needs is made by moving the clock.
      const config = { leaseDurationMs: 30_000, identityTimeoutMs: 20_000 };
      // "Killed": the invocation stops being awaited while three clients are mid-call.
      const killedRun = makeVendor(local, { identity: frozen, config }).refreshAll({ concurrency: 6 });
      let ended = false;
      void killedRun.then(
        () => (ended = true),
        () => (ended = true),
      );
      // Killed once the three answering clients are stored (an event, not a guessed 300 ms); the three
      // frozen calls never settle, so whatever the machine's speed, their clients are left without a token.
      // (Should the run end first, the assertions below say which client is missing.)
      await until(async () => {
        const records = await Promise.all(ids.slice(0, 3).map((id) => local.store().get(id)));
        return ended || records.every((record) => record?.token !== undefined);
      });
      for (const id of ids.slice(0, 3)) expect((await local.store().get(id))?.token).toBeDefined();
      for (const id of ids.slice(3)) expect((await local.store().get(id))?.token).toBeUndefined();

      // The killed invocation's leases lapse (its frozen calls never settle, whatever the clock says).
      local.clock.offsetMs += config.leaseDurationMs + 1_000;
      const summary = await makeVendor(local, { config }).refreshAll({ concurrency: 6 });
      expect(summary).toMatchObject({ clients: 6, fetched: 3, valid: 3, failed: 0 });
      for (const id of ids) {
        const record = await local.store().get(id);
        expect(record?.token?.expiresAt ?? 0).toBeGreaterThan(local.clock.now() + 3_500_000);
        expect(record?.lease).toBeUndefined();
      }
      expect(local.simulator.identityCalls()).toBe(6);
    } finally {
      await local.stop();
    }
  });
});
