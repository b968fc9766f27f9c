import { describe, expect, it } from 'vitest';
import {
  API_ERROR_CODES,
  createTokenClient,
  MarketoApiError,
  TokenVendorClientError,
} from '../../client/index.js';
import { ERROR_CODES } from '../../functions/core/errors.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);

/** A fake clock: `sleep` moves time forward at once and records the wait. */
const fakeClock = () => {
  let now = NOW;
  const sleeps: number[] = [];
  return {
    sleeps,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
};

type Answer = { status: number; body: unknown; headers?: Record<string, string> };

/** A fetch that answers from a queue and records `METHOD path` and the headers it was sent. */
const scriptedFetch = (answers: Answer[] | ((url: URL) => Answer)) => {
  const calls: Array<{ line: string; headers: Headers; body?: string }> = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    calls.push({
      line: `${init?.method ?? 'GET'} ${url.pathname}${url.search}`,
      headers: new Headers(init?.headers),
      ...(typeof init?.body === 'string' ? { body: init.body } : {}),
    });
    const answer = typeof answers === 'function' ? answers(url) : answers.shift();
    if (!answer) throw new Error('no scripted answer left');
    return new Response(JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': 'application/json', ...answer.headers },
    });
  };
  return { fetch: fetchImpl, calls };
};

const tokenBody = (accessToken: string, expiresIn = 3600) => ({
  clientId: 'client-a',
  accessToken,
  tokenType: 'bearer',
  expiresAt: new Date(NOW + expiresIn * 1000).toISOString(),
  expiresIn,
  scope: 'api@example.com',
});

const client = (fetchImpl: typeof fetch, clock = fakeClock(), retryBudgetMs?: number) =>
  createTokenClient({
    endpoint: 'https://abc.execute-api.us-east-1.amazonaws.com/prod/',
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret-key' },
    fetch: fetchImpl,
    clock,
    ...(retryBudgetMs === undefined ? {} : { retryBudgetMs }),
  });

describe('token client', () => {
  describe('getToken', () => {
    it('sends a SigV4-signed GET to the stage path with minValidity', async () => {
      const fake = scriptedFetch([{ status: 200, body: tokenBody('tok-1') }]);
      await client(fake.fetch).getToken('client-a', { minValidity: 90 });
      expect(fake.calls[0]?.line).toBe('GET /prod/tokens/client-a?minValidity=90');
      expect(fake.calls[0]?.headers.get('authorization')).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/20250601\/us-east-1\/execute-api\/aws4_request, SignedHeaders=/,
      );
    });

    it('serves a cached token while it has minValidity left and fetches again after', async () => {
      const clock = fakeClock();
      const fake = scriptedFetch([
        { status: 200, body: tokenBody('tok-1', 120) },
        { status: 200, body: tokenBody('tok-2') },
      ]);
      const tokens = client(fake.fetch, clock);
      await tokens.getToken('client-a', { minValidity: 60 });
      clock.advance(59_000);
      expect((await tokens.getToken('client-a', { minValidity: 60 })).accessToken).toBe('tok-1');
      clock.advance(2_000);
      expect((await tokens.getToken('client-a', { minValidity: 60 })).accessToken).toBe('tok-2');
      expect(fake.calls).toHaveLength(2);
    });

    it('waits out a 503 with Retry-After within its budget', async () => {
      const clock = fakeClock();
      const fake = scriptedFetch([
        {
          status: 503,
          body: { error: { code: 'TokenRotating', message: 'rotating' } },
          headers: { 'retry-after': '2' },
        },
        { status: 200, body: tokenBody('tok-1') },
      ]);
      const token = await client(fake.fetch, clock).getToken('client-a');
      expect(token.accessToken).toBe('tok-1');
      expect(clock.sleeps).toEqual([2_000]);
    });

    it('throws a typed error with retryAfterSeconds when the wait does not fit the budget', async () => {
      const fake = scriptedFetch([
        {
          status: 503,
          body: { error: { code: 'IdentityUnavailable', message: 'down' } },
          headers: { 'retry-after': '30' },
        },
      ]);
      const error = await client(fake.fetch, fakeClock(), 5_000)
        .getToken('client-a')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenVendorClientError);
      expect(error).toMatchObject({ code: 'IdentityUnavailable', status: 503, retryAfterSeconds: 30 });
    });

    it("maps API Gateway's own 403 answers to codes via x-amzn-ErrorType", async () => {
      const fake = scriptedFetch([
        {
          status: 403,
          body: { message: 'User: arn:aws:iam::1:role/x is not authorized to perform: execute-api:Invoke' },
          headers: { 'x-amzn-errortype': 'AccessDeniedException' },
        },
      ]);
      await expect(client(fake.fetch).getToken('client-a')).rejects.toMatchObject({
        code: 'AccessDenied',
        status: 403,
      });
    });

    it('refuses a client id outside the safe alphabet without sending anything', async () => {
      const fake = scriptedFetch([]);
      await expect(client(fake.fetch).getToken('../admin')).rejects.toMatchObject({ code: 'InvalidRequest' });
      expect(fake.calls).toHaveLength(0);
    });
  });

  describe('withToken', () => {
    it('invalidates once and retries once when fn throws a 602', async () => {
      const fake = scriptedFetch([
        { status: 200, body: tokenBody('tok-1') },
        { status: 200, body: tokenBody('tok-2') },
      ]);
      const seen: string[] = [];
      const result = await client(fake.fetch).withToken('client-a', async (token) => {
        seen.push(token.accessToken);
        if (token.accessToken === 'tok-1') throw new MarketoApiError('602', 'Access token expired');
        return 'done';
      });
      expect(result).toBe('done');
      expect(seen).toEqual(['tok-1', 'tok-2']);
      expect(fake.calls.map((c) => c.line)).toEqual([
        'GET /prod/tokens/client-a?minValidity=60',
        'POST /prod/tokens/client-a/invalidate',
      ]);
      expect(JSON.parse(fake.calls[1]?.body ?? '{}')).toEqual({ accessToken: 'tok-1' });
    });

    it('treats a returned Marketo body with error 601 like a thrown one', async () => {
      const fake = scriptedFetch([
        { status: 200, body: tokenBody('tok-1') },
        { status: 200, body: tokenBody('tok-2') },
      ]);
      const result = await client(fake.fetch).withToken('client-a', async (token) =>
        token.accessToken === 'tok-1'
          ? { success: false, errors: [{ code: '601', message: 'Access token invalid' }] }
          : { success: true },
      );
      expect(result).toEqual({ success: true });
    });

    it('passes other errors through without invalidating', async () => {
      const fake = scriptedFetch([{ status: 200, body: tokenBody('tok-1') }]);
      const failing = client(fake.fetch).withToken('client-a', async () => {
        throw new MarketoApiError('606', 'Max rate limit exceeded');
      });
      await expect(failing).rejects.toMatchObject({ code: '606' });
      expect(fake.calls).toHaveLength(1);
    });

    it('shares one invalidate between concurrent callers rejecting the same token', async () => {
      const fake = scriptedFetch((url) =>
        url.pathname.endsWith('/invalidate')
          ? { status: 200, body: tokenBody('tok-2') }
          : { status: 200, body: tokenBody('tok-1') },
      );
      const tokens = client(fake.fetch);
      await Promise.all(
        Array.from({ length: 20 }, () =>
          tokens.withToken('client-a', async (token) => {
            if (token.accessToken === 'tok-1') throw new MarketoApiError('602', 'expired');
            return token.accessToken;
          }),
        ),
      );
      expect(fake.calls.filter((c) => c.line.includes('/invalidate'))).toHaveLength(1);
    });
  });
});

describe('client error codes', () => {
  it('mirror every stable code the vendor answers with (the client does not import the runtime)', () => {
    expect([...API_ERROR_CODES].sort()).toEqual([...ERROR_CODES].sort());
  });
});
