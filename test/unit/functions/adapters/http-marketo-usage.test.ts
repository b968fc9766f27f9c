import { describe, expect, it } from 'vitest';
import { marketoUsageReaders, parseUsageAnswer } from '../../../../functions/adapters/http-marketo-usage.js';
import type { ClientCredentials } from '../../../../functions/core/ports.js';
import type { VendedToken } from '../../../../functions/core/token-vendor-api.js';

const TOKEN: VendedToken = {
  clientId: 'sync',
  accessToken: 'usage-test-token:int',
  tokenType: 'bearer',
  expiresAt: 0,
  expiresInSeconds: 3000,
  source: 'memory',
};
const CREDENTIALS: ClientCredentials = {
  clientId: 'sync',
  clientSecret: 'usage-test-secret',
  identityUrl: 'https://123-ABC-456.mktorest.com/identity',
};

const reader = (answer: Response, credentials: ClientCredentials = CREDENTIALS) => {
  const seen: Array<{ url: string; authorization: string | null }> = [];
  const read = marketoUsageReaders({
    vendor: { getToken: async () => TOKEN, getInstanceToken: async () => TOKEN },
    credentials: { get: async () => credentials, list: async () => [] },
    urlPolicy: { allowedHosts: ['*.mktorest.com'] },
    fetch: async (url, init) => {
      seen.push({ url: String(url), authorization: new Headers(init?.headers).get('authorization') });
      return answer;
    },
  })({ clientId: 'sync' });
  return { read, seen };
};

describe('parseUsageAnswer', () => {
  it("reads today's total and the calls per API user", () => {
    expect(
      parseUsageAnswer({
        success: true,
        result: [{ date: '2026-12-01', total: 1120, users: [{ userId: 'a@acme.com', count: 200 }] }],
      }),
    ).toEqual({ kind: 'counted', calls: 1120, users: [{ userId: 'a@acme.com', calls: 200 }] });
  });

  it('reads a 607 as the day used up', () => {
    expect(
      parseUsageAnswer({ success: false, errors: [{ code: '607', message: 'Daily quota reached' }] }),
    ).toEqual({ kind: 'exhausted' });
  });

  it("refuses any other error without repeating Marketo's text", () => {
    expect(() =>
      parseUsageAnswer({ success: false, errors: [{ code: '611', message: 'secret stuff' }] }),
    ).toThrow('usage.json answered error 611');
  });

  it('refuses an answer without a total', () => {
    expect(() => parseUsageAnswer({ success: true, result: [] })).toThrow('usage.json answered no total');
  });
});

describe('marketoUsageReaders', () => {
  it("sends the client's token as a bearer header to the REST host taken from its Identity URL", async () => {
    const { read, seen } = reader(
      Response.json({ success: true, result: [{ date: '2026-12-01', total: 3, users: [] }] }),
    );

    await read();

    expect(seen).toEqual([
      {
        url: 'https://123-abc-456.mktorest.com/rest/v1/stats/usage.json',
        authorization: 'Bearer usage-test-token:int',
      },
    ]);
  });

  it('refuses a REST URL off the host allowlist before sending the token', async () => {
    const { read, seen } = reader(Response.json({}), { ...CREDENTIALS, restUrl: 'https://evil.example' });

    await expect(read()).rejects.toThrow('is not on the allowlist');
    expect(seen).toEqual([]);
  });
});
