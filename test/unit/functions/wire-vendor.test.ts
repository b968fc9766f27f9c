import { describe, expect, it } from 'vitest';
import { wireVendor } from '../../../functions/wire-vendor.js';
import { createMemoryVendor } from '../../../testing/memory-vendor.js';

describe('wireVendor', () => {
  it('builds a working vendor from a store, a credentials source, an identity client and a clock', async () => {
    const { store, credentials, identity, clock } = createMemoryVendor();
    const vendor = wireVendor({ store, credentials, identity, clock });
    const token = await vendor.getToken('client-a');
    expect(token.clientId).toBe('client-a');
    expect((await store.get('client-a'))?.token?.accessToken).toBe(token.accessToken);
  });

  it('passes the engine config through', async () => {
    const { store, credentials, identity, clock } = createMemoryVendor();
    const vendor = wireVendor({
      store,
      credentials,
      identity,
      clock,
      config: { identityUrlPolicy: { allowedHosts: ['only.example.com'] } },
    });
    await expect(vendor.getToken('client-a')).rejects.toMatchObject({ code: 'CredentialsMisconfigured' });
  });

  it('records metrics through the telemetry it is given', async () => {
    const { store, credentials, identity, clock } = createMemoryVendor();
    const names: string[] = [];
    const vendor = wireVendor({
      store,
      credentials,
      identity,
      clock,
      telemetry: { metrics: { record: (name) => names.push(name) } },
    });
    await vendor.getToken('client-a');
    expect(names.filter((name) => name === 'IdentityCalls')).toEqual(['IdentityCalls']);
  });
});
