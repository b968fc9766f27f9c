import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTokenClient,
  type NodeMarketoRestClient,
  TokenVendorClientError,
  useVendedTokens,
} from '../../client/index.js';
import type { AccessLogEntry } from '../../local/access-log.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';

/**
 * The real node-marketo-rest (0.7.x, a devDependency) on vended tokens against local mode: the instance is
 * created without a secret or an Identity URL, so every token it uses comes from the vendor.
 */

/** What the tests use of a node-marketo-rest `Marketo` instance (the package ships no types). */
interface Marketo extends NodeMarketoRestClient {
  readonly lead: {
    find(
      filterType: string,
      values: ReadonlyArray<string | number>,
    ): Promise<{ result: Array<{ email: string }> }>;
  };
  getOAuthToken(): Promise<{ access_token: string }>;
}
type MarketoConstructor = new (options: Record<string, unknown>) => Marketo;
const Marketo = createRequire(import.meta.url)('node-marketo-rest') as MarketoConstructor;

const CLIENT = { clientId: 'nmr-sync', clientSecret: 'nmr-sync-marketo-secret-0123' };
const KEY = {
  accessKeyId: 'NMRSYNCKEY',
  secretAccessKey: 'nmr-sync-local-secret-123',
  principalArn: 'arn:aws:iam::000000000000:role/nmr-sync',
  clients: [CLIENT.clientId],
  instances: [],
};

describe('node-marketo-rest on vended tokens (useVendedTokens)', () => {
  let local: TestLocalVendor;
  const requests: AccessLogEntry[] = [];
  const vendorCalls = (path: string): number => requests.filter((r) => r.path === path).length;

  const vendedMarketo = (): Marketo =>
    useVendedTokens(
      // No clientId, clientSecret or identity: nothing to fetch a token with but the vendor.
      // Short retry delays: the library's own backoff (1 s) is not what these tests are about.
      new Marketo({ endpoint: `${local.sim.restUrl}/rest`, retry: { initialDelay: 10, maxDelay: 50 } }),
      {
        tokens: createTokenClient({ endpoint: local.url, region: local.region, credentials: KEY }),
        clientId: CLIENT.clientId,
      },
    );

  beforeAll(async () => {
    local = await startTestLocalVendor({
      dataDirPrefix: 'mtv-nmr-',
      policy: { keys: [KEY] },
      onRequest: (entry) => requests.push(entry),
    });
    await local.addClient(CLIENT);
  });

  afterAll(() => local?.stop());

  beforeEach(() => {
    requests.length = 0;
    local.sim.resetCounters();
  });

  it('fetches leads through an instance that was given no secret', async () => {
    const marketo = vendedMarketo();

    const answer = await marketo.lead.find('id', [1, 2]);

    expect(answer.result.map((lead) => lead.email)).toEqual(['lead1@example.com', 'lead2@example.com']);
    expect(local.sim.accessTokenQueryParamUses()).toBe(0);
  });

  it('takes a permit of the shared budget for each call', async () => {
    const marketo = vendedMarketo();

    for (const id of [1, 2, 3]) await marketo.lead.find('id', [id]);

    expect(vendorCalls(`/tokens/${CLIENT.clientId}/permits`)).toBe(3);
    expect(local.sim.restCalls()).toBe(3);
  });

  it('recovers from a 602 with one invalidate and one more call', async () => {
    const marketo = vendedMarketo();
    await marketo.lead.find('id', [1]);
    local.sim.resetCounters();
    requests.length = 0;
    local.sim.forceRestError('602', 1);

    const answer = await marketo.lead.find('id', [4]);

    expect(answer.result.map((lead) => lead.email)).toEqual(['lead4@example.com']);
    expect(vendorCalls(`/tokens/${CLIENT.clientId}/invalidate`)).toBe(1);
    expect(local.sim.restCalls()).toBe(2);
  });

  it('throws a 603 as MarketoAccessDenied naming the request and the permission it needs, without a retry', async () => {
    const marketo = vendedMarketo();
    local.sim.forceRestError('603', 1);

    await expect(marketo.lead.find('id', [5])).rejects.toMatchObject({
      code: 'MarketoAccessDenied',
      clientId: CLIENT.clientId,
      method: 'GET',
      path: '/rest/v1/leads.json',
      permission: 'Read-Only Lead',
    });
    expect(local.sim.restCalls()).toBe(1);
    expect(vendorCalls(`/tokens/${CLIENT.clientId}/invalidate`)).toBe(0);
  });

  it('turns a forced refresh (marketo.getOAuthToken) into an invalidate of the token it used', async () => {
    const marketo = vendedMarketo();
    await marketo.lead.find('id', [1]);
    requests.length = 0;

    const token = await marketo.getOAuthToken();

    expect(vendorCalls(`/tokens/${CLIENT.clientId}/invalidate`)).toBe(1);
    expect(token.access_token).toBe(local.sim.currentToken(CLIENT.clientId)?.accessToken);
  });

  it('refuses an instance that was given a client secret', () => {
    const withSecret = new Marketo({
      endpoint: `${local.sim.restUrl}/rest`,
      clientId: CLIENT.clientId,
      clientSecret: CLIENT.clientSecret,
    });

    expect(() =>
      useVendedTokens(withSecret, {
        tokens: createTokenClient({ endpoint: local.url, region: local.region, credentials: KEY }),
        clientId: CLIENT.clientId,
      }),
    ).toThrow(TokenVendorClientError);
  });
});
