import { describe, expect, it } from 'vitest';
import type { RegisteredClient } from '../../../../functions/core/ports.js';
import { createTokenVendor } from '../../../../functions/core/token-vendor.js';
import { DEFAULT_TOKEN_VENDOR_CONFIG } from '../../../../functions/core/vendor-config.js';
import { FakeClock } from '../../../../testing/clocks.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../../../../testing/fake-identity.js';
import { MemoryTokenStore } from '../../../../testing/memory-token-store.js';

const HORIZON_MS = 5_000;

/** A refresher worker's world: clients (pool members name `acme`), a store, Identity, a fake clock. */
function workerWorld(clients: ReadonlyArray<{ clientId: string; instance?: string }>) {
  const clock = new FakeClock();
  const records = clients.map((c) => ({ ...testCredentials(c.clientId), ...c }));
  const identity = new FakeIdentity(clock, records);
  const credentials = new MemoryCredentials(records);
  const store = new MemoryTokenStore();
  const vendor = createTokenVendor({ store, credentials, identity, clock, instanceId: 'worker' });
  const sweep = (message: RegisteredClient[]) =>
    clock.settle(vendor.refreshDue({ clients: message, horizonMs: HORIZON_MS }));
  /** Fetches every client's first token now (as a vend would). */
  const fetchAll = () => Promise.all(records.map((r) => clock.settle(vendor.getToken(r.clientId))));
  return { clock, identity, credentials, store, vendor, sweep, fetchAll };
}

describe('refreshDue (a refresher worker sweeping one queued message)', () => {
  it('indexes a stored token at the instant its successor is due', async () => {
    const w = workerWorld([{ clientId: 'a' }]);
    await w.fetchAll();
    const item = w.store.items.get('a');
    expect(item?.refreshAt).toBe((item?.token?.expiresAt ?? 0) + DEFAULT_TOKEN_VENDOR_CONFIG.expirySlackMs);
  });

  it('replaces a token due within the horizon at its instant, with one Identity call', async () => {
    const w = workerWorld([{ clientId: 'a' }]);
    await w.fetchAll();
    const due = w.store.items.get('a')?.refreshAt ?? 0;
    await w.clock.advance(due - w.clock.now() - 1_000);
    const summary = await w.sweep([{ clientId: 'a' }]);
    expect(summary).toMatchObject({ waited: 1, failed: 0 });
    expect(w.clock.now()).toBe(due);
    expect(w.identity.calls.get('a')).toBe(2);
  });

  it('leaves a token due after the horizon alone, without waiting (a stale message)', async () => {
    const w = workerWorld([{ clientId: 'a' }]);
    await w.fetchAll();
    const before = w.clock.now();
    const summary = await w.sweep([{ clientId: 'a' }]);
    expect(summary).toMatchObject({ valid: 1, waited: 0, fetched: 0 });
    expect(w.clock.now()).toBe(before);
  });

  it('brings the other members of a due member’s pool, so the stagger sees their expiries', async () => {
    const w = workerWorld([
      { clientId: 'p1', instance: 'acme' },
      { clientId: 'p2', instance: 'acme' },
    ]);
    await w.clock.settle(w.vendor.getToken('p2'));
    const summary = await w.sweep([{ clientId: 'p1', instance: 'acme' }]);
    expect(summary.pools).toEqual([expect.objectContaining({ instance: 'acme', members: 2 })]);
    // p1 has no token: fetching it now would expire with p2; the stagger defers it half a lifespan.
    expect(summary.deferred).toBe(1);
    expect(w.store.items.get('p1')?.refreshAt).toBe(
      (w.store.items.get('p2')?.token?.expiresAt ?? 0) - 1_800_000,
    );
  });

  it('takes a client whose secret is gone out of the index', async () => {
    const w = workerWorld([{ clientId: 'gone' }]);
    await w.fetchAll();
    w.credentials.remove('gone');
    await w.clock.advance((w.store.items.get('gone')?.refreshAt ?? 0) - w.clock.now());
    const summary = await w.sweep([{ clientId: 'gone' }]);
    expect(summary.failures).toEqual([{ clientId: 'gone', code: 'UnknownClient' }]);
    expect(w.store.items.get('gone')?.refreshAt).toBeUndefined();
  });

  it('indexes a valid token stored before the index existed, so runs find it when it is due', async () => {
    const w = workerWorld([{ clientId: 'old' }]);
    await w.fetchAll();
    const { refreshAt: _dropped, ...withoutIndex } = w.store.items.get('old') ?? {
      clientId: 'old',
      version: 0,
    };
    w.store.items.set('old', withoutIndex);
    await w.sweep([{ clientId: 'old' }]);
    expect(w.store.items.get('old')?.refreshAt).toBe(
      (w.store.items.get('old')?.token?.expiresAt ?? 0) + DEFAULT_TOKEN_VENDOR_CONFIG.expirySlackMs,
    );
  });
});
