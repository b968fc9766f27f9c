import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenClient, MarketoApiError } from '../../client/index.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';

/** A key that may use the `acme` pool but no client directly. */
const POOL_ONLY_KEY = {
  accessKeyId: 'POOLONLYKEY',
  secretAccessKey: 'pool-only-local-secret',
  principalArn: 'arn:aws:iam::000000000000:role/pool-consumer',
  clients: [],
  instances: ['acme'],
};
const MEMBERS = [
  { clientId: 'acme-1', clientSecret: 'acme-one-marketo-secret' },
  { clientId: 'acme-2', clientSecret: 'acme-two-marketo-secret' },
];

describe('instance pools in local mode over HTTP', () => {
  let local: TestLocalVendor;

  beforeAll(async () => {
    local = await startTestLocalVendor({ dataDirPrefix: 'mtv-pool-e2e-', policy: { keys: [POOL_ONLY_KEY] } });
    for (const member of MEMBERS) await local.addClient({ ...member, instance: 'acme' });
  });

  afterAll(() => local.stop());

  const poolClient = () =>
    createTokenClient({ endpoint: local.url, region: 'us-east-1', credentials: POOL_ONLY_KEY });

  it('gives a pool-only key the pool token, naming the member', async () => {
    const token = await poolClient().getInstanceToken('acme', { minValidity: 60 });
    expect(['acme-1', 'acme-2']).toContain(token.clientId);
  });

  it('refuses the same key the per-client route of a pool member (403)', async () => {
    const attempt = poolClient().getToken('acme-1');
    await expect(attempt).rejects.toMatchObject({ status: 403 });
  });

  it('refuses the same key another instance (403)', async () => {
    await expect(poolClient().getInstanceToken('other')).rejects.toMatchObject({ status: 403 });
  });

  it('recovers from a 602 in withInstanceToken with one report to the pool and one retry', async () => {
    const client = poolClient();
    local.simulator?.forceRestError('602', 1);
    const seen: string[] = [];
    const result = await client.withInstanceToken('acme', async (token) => {
      seen.push(token.accessToken);
      const response = await fetch(
        `${local.simulator?.restUrl}/rest/v1/leads.json?filterType=id&filterValues=1`,
        {
          headers: { authorization: `Bearer ${token.accessToken}` },
        },
      );
      const body = (await response.json()) as { success: boolean; errors?: Array<{ code: string }> };
      if (!body.success) throw new MarketoApiError(body.errors?.[0]?.code ?? 'unknown', 'rejected');
      return body;
    });
    expect(result.success).toBe(true);
    expect(seen).toHaveLength(2);
  });
});
