import { describe, expect, it } from 'vitest';
import { createTokenClient, MarketoAccessDenied, MarketoApiError } from '../../../client/index.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const VENDOR = 'https://abc.execute-api.us-east-1.amazonaws.com/prod/';
const MARKETO = 'https://123-abc-456.mktorest.com';
const DENIED = { requestId: 'e42b#1', success: false, errors: [{ code: '603', message: 'Access denied' }] };

/** The vendor hands out `tok-1` (then `tok-2` after an invalidate); Marketo answers `marketo(url, init)`. */
const world = (marketo: (url: URL, init?: RequestInit) => unknown) => {
  const vendorCalls: string[] = [];
  const marketoCalls: string[] = [];
  let issued = 0;
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? 'GET';
    if (url.href.startsWith(VENDOR)) {
      vendorCalls.push(`${method} ${url.pathname}`);
      issued += 1;
      const body = {
        clientId: 'client-a',
        accessToken: `tok-${issued}`,
        tokenType: 'bearer',
        expiresAt: new Date(NOW + 3_600_000).toISOString(),
        expiresIn: 3600,
        scope: 'sync@example.com',
      };
      return Response.json(body);
    }
    marketoCalls.push(`${method} ${url.pathname}`);
    return Response.json(marketo(url, init));
  };
  const tokens = createTokenClient({
    endpoint: VENDOR,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret-key' },
    fetch: fetchImpl,
    clock: { now: () => NOW, sleep: async () => undefined },
    budget: false,
  });
  return { tokens, vendorCalls, marketoCalls };
};

const rejection = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );

describe('a 603 from Marketo', () => {
  describe('through marketoFetch', () => {
    it('rejects with MarketoAccessDenied naming the path, the permission it needs and the client', async () => {
      const { tokens } = world(() => DENIED);

      const error = await rejection(
        tokens.marketoFetch('client-a', `${MARKETO}/rest/v1/leads.json?filterType=email&filterValues=a@b.c`),
      );

      expect(error).toBeInstanceOf(MarketoAccessDenied);
      expect(error).toMatchObject({
        name: 'MarketoAccessDenied',
        code: 'MarketoAccessDenied',
        marketoCode: '603',
        clientId: 'client-a',
        method: 'GET',
        path: '/rest/v1/leads.json',
        permission: 'Read-Only Lead',
        retryable: false,
      });
      expect((error as Error).message).toBe(
        'Marketo denied GET /rest/v1/leads.json to client client-a (603 Access denied): the role of its ' +
          'API-only user lacks Read-Only Lead (Read-Write Lead also grants it); add the permission to that ' +
          'role (Admin > Users & Roles), or call with a client whose role has it',
      );
    });

    it('names Approve Assets for an approval and Execute Campaign for a campaign request', async () => {
      const { tokens } = world(() => DENIED);

      const approve = await rejection(
        tokens.marketoFetch('client-a', `${MARKETO}/rest/asset/v1/email/7/approveDraft.json`, {
          method: 'POST',
        }),
      );
      const trigger = await rejection(
        tokens.marketoFetch('client-a', `${MARKETO}/rest/v1/campaigns/7/trigger.json`, { method: 'POST' }),
      );

      expect(approve).toMatchObject({ method: 'POST', permission: 'Approve Assets' });
      expect(trigger).toMatchObject({ method: 'POST', permission: 'Execute Campaign' });
    });

    it('is never retried and never invalidates the token: the next call uses the same token', async () => {
      let first = true;
      const seen: string[] = [];
      const { tokens, vendorCalls, marketoCalls } = world((_url, init) => {
        seen.push(new Headers(init?.headers).get('authorization') ?? '');
        if (first) {
          first = false;
          return DENIED;
        }
        return { success: true, result: [] };
      });

      await rejection(tokens.marketoFetch('client-a', `${MARKETO}/rest/v1/leads/describe.json`));
      const next = await tokens.marketoFetch('client-a', `${MARKETO}/rest/v1/leads/describe.json`);

      expect(await next.json()).toEqual({ success: true, result: [] });
      expect(marketoCalls).toEqual(['GET /rest/v1/leads/describe.json', 'GET /rest/v1/leads/describe.json']);
      expect(vendorCalls).toEqual(['GET /prod/tokens/client-a']);
      expect(seen).toEqual(['Bearer tok-1', 'Bearer tok-1']);
    });

    it('leaves the permission unknown for a path the table does not cover', async () => {
      const { tokens } = world(() => DENIED);

      const error = await rejection(tokens.marketoFetch('client-a', `${MARKETO}/rest/v1/stats/usage.json`));

      expect(error).toMatchObject({ path: '/rest/v1/stats/usage.json', permission: undefined });
      expect((error as Error).message).toContain('the permission this path needs is not in the table');
    });
  });

  describe('through withToken', () => {
    it('turns a thrown MarketoApiError 603 with its request into MarketoAccessDenied, without a retry', async () => {
      const { tokens, vendorCalls } = world(() => undefined);
      let runs = 0;

      const error = await rejection(
        tokens.withToken('client-a', async () => {
          runs += 1;
          throw new MarketoApiError('603', 'Access denied', {
            method: 'POST',
            path: '/rest/v1/campaigns/7/schedule.json',
          });
        }),
      );

      expect(error).toMatchObject({
        code: 'MarketoAccessDenied',
        clientId: 'client-a',
        method: 'POST',
        path: '/rest/v1/campaigns/7/schedule.json',
        permission: 'Execute Campaign',
      });
      expect(runs).toBe(1);
      expect(vendorCalls).toEqual(['GET /prod/tokens/client-a']);
    });

    it('turns a returned Marketo body with 603 into MarketoAccessDenied whose path is unknown', async () => {
      const { tokens } = world(() => undefined);

      const error = await rejection(tokens.withToken('client-a', async () => DENIED));

      expect(error).toMatchObject({ code: 'MarketoAccessDenied', clientId: 'client-a', path: undefined });
      expect((error as Error).message).toBe(
        'Marketo denied a call to client client-a (603 Access denied): the role of its API-only user lacks ' +
          'the permission the call needs; use marketoFetch, or throw MarketoApiError with { method, path }, ' +
          'to have it named',
      );
    });
  });
});
