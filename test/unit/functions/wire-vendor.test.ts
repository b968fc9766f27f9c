import { describe, expect, it } from 'vitest';
import { wireVendor } from '../../../functions/wire-vendor.js';
import { FakeClock } from '../../../testing/clocks.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../../../testing/fake-identity.js';
import { MemoryTokenStore } from '../../../testing/memory-token-store.js';

describe('wireVendor', () => {
  it('builds a working vendor from a store, a credentials source, an identity client and a clock', async () => {
    const clock = new FakeClock();
    const record = testCredentials('client-a');
    const identity = new FakeIdentity(clock, [record]);
    const store = new MemoryTokenStore();
    const vendor = wireVendor({ store, credentials: new MemoryCredentials([record]), identity, clock });
    const token = await vendor.getToken('client-a');
    expect(token.clientId).toBe('client-a');
    expect((await store.get('client-a'))?.token?.accessToken).toBe(token.accessToken);
  });

  it('passes the engine config through', async () => {
    const clock = new FakeClock();
    const record = testCredentials('client-a');
    const vendor = wireVendor({
      store: new MemoryTokenStore(),
      credentials: new MemoryCredentials([record]),
      identity: new FakeIdentity(clock, [record]),
      clock,
      config: { identityUrlPolicy: { allowedHosts: ['only.example.com'] } },
    });
    await expect(vendor.getToken('client-a')).rejects.toMatchObject({ code: 'CredentialsMisconfigured' });
  });

  it('records metrics through the telemetry it is given', async () => {
    const clock = new FakeClock();
    const record = testCredentials('client-a');
    const names: string[] = [];
    const vendor = wireVendor({
      store: new MemoryTokenStore(),
      credentials: new MemoryCredentials([record]),
      identity: new FakeIdentity(clock, [record]),
      clock,
      telemetry: { metrics: { record: (name) => names.push(name) } },
    });
    await vendor.getToken('client-a');
    expect(names.filter((name) => name === 'IdentityCalls')).toEqual(['IdentityCalls']);
  });
});
