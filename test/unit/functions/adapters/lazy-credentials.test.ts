import { describe, expect, it } from 'vitest';
import { lazyCredentials } from '../../../../functions/adapters/lazy-credentials.js';
import { CredentialsUnavailableError } from '../../../../functions/core/errors.js';
import type { CredentialsSource } from '../../../../functions/core/ports.js';
import { MemoryCredentials, testCredentials } from '../../../../testing/fake-identity.js';

describe('lazyCredentials', () => {
  it('builds nothing until the first call', () => {
    let loads = 0;
    lazyCredentials(async () => {
      loads += 1;
      return new MemoryCredentials();
    });
    expect(loads).toBe(0);
  });

  it('builds the source once for concurrent first calls and delegates get and list to it', async () => {
    let loads = 0;
    const record = testCredentials('client-a');
    const source = lazyCredentials(async () => {
      loads += 1;
      return new MemoryCredentials([record]);
    });
    const [got, listed] = await Promise.all([source.get('client-a'), source.list(), source.get('client-a')]);
    expect(loads).toBe(1);
    expect(got).toEqual(record);
    expect(listed).toEqual([{ clientId: 'client-a' }]);
  });

  it('passes get options through to the source', async () => {
    const inner = new MemoryCredentials([testCredentials('client-a')]);
    await lazyCredentials(async () => inner).get('client-a', { bypassCache: true });
    expect(inner.reads).toEqual([{ clientId: 'client-a', bypassCache: true }]);
  });

  it('tries the load again after a failed one', async () => {
    let loads = 0;
    const source = lazyCredentials(async (): Promise<CredentialsSource> => {
      loads += 1;
      if (loads === 1) throw new CredentialsUnavailableError('module failed to load');
      return new MemoryCredentials([testCredentials('client-a')]);
    });
    await expect(source.list()).rejects.toBeInstanceOf(CredentialsUnavailableError);
    await expect(source.list()).resolves.toEqual([{ clientId: 'client-a' }]);
    expect(loads).toBe(2);
  });
});
