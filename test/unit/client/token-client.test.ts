import { describe, expect, it } from 'vitest';
import {
  API_ERROR_CODES,
  createTokenClient,
  DEFAULT_MIN_VALIDITY_SECONDS,
  defaultRetryBudgetMs,
  MarketoApiError,
  REQUEST_MIN_VALIDITY_SECONDS,
  ROTATION_ALLOWANCE_MS,
  TokenVendorClientError,
} from '../../../client/index.js';
import { NAME_PATTERN } from '../../../client/token-target.js';
import { readRuntimeConfig } from '../../../functions/config.js';
import * as contract from '../../../functions/contract/index.js';
import { ERROR_CODES } from '../../../functions/contract/index.js';
import { DEFAULT_TOKEN_VENDOR_CONFIG } from '../../../functions/core/vendor-config.js';

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
    // These specs script the token routes only; the budget's permit calls have their own specs
    // (test/unit/budget-client.test.ts).
    budget: false,
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
        'GET /prod/tokens/client-a?minValidity=1',
        'POST /prod/tokens/client-a/invalidate?minValidity=1',
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

describe('defaults that fit how tokens are used', () => {
  it("getToken asks for the API's default validity (20 s) when the call names none", async () => {
    const fake = scriptedFetch([{ status: 200, body: tokenBody('tok-1') }]);
    await client(fake.fetch).getToken('client-a');
    expect(fake.calls[0]?.line).toBe('GET /prod/tokens/client-a?minValidity=20');
  });

  it('marketoFetch asks for the validity of one request (1 s), not of a job', async () => {
    const fake = scriptedFetch((url) =>
      url.hostname === 'marketo.example.com'
        ? { status: 200, body: { success: true } }
        : { status: 200, body: tokenBody('tok-1') },
    );
    await client(fake.fetch).marketoFetch('client-a', 'https://marketo.example.com/rest/v1/leads.json');
    expect(fake.calls.map((c) => c.line)).toEqual([
      'GET /prod/tokens/client-a?minValidity=1',
      'GET /rest/v1/leads.json',
    ]);
  });

  it('withInstanceToken asks a pool for the validity of one request (1 s)', async () => {
    const fake = scriptedFetch([{ status: 200, body: tokenBody('tok-1') }]);
    await client(fake.fetch).withInstanceToken('123-ABC-456', async (token) => token.accessToken);
    expect(fake.calls[0]?.line).toBe('GET /prod/instances/123-ABC-456/token?minValidity=1');
  });

  it('marketoFetch keeps using the cached token until its last second, then asks the vendor', async () => {
    const clock = fakeClock();
    const fake = scriptedFetch((url) =>
      url.hostname === 'marketo.example.com'
        ? { status: 200, body: { success: true } }
        : { status: 200, body: tokenBody(clock.now() === NOW ? 'tok-1' : 'tok-2', 120) },
    );
    const tokens = client(fake.fetch, clock);
    const rest = 'https://marketo.example.com/rest/v1/leads.json';
    await tokens.marketoFetch('client-a', rest);
    clock.advance(119_000);
    await tokens.marketoFetch('client-a', rest);
    clock.advance(1);
    await tokens.marketoFetch('client-a', rest);
    expect(fake.calls.filter((c) => c.line.startsWith('GET /prod/tokens')).length).toBe(2);
    expect(fake.calls.at(-1)?.headers.get('authorization')).toBe('Bearer tok-2');
  });

  it('a per-call minValidity still wins over the per-request default', async () => {
    const fake = scriptedFetch([{ status: 200, body: tokenBody('tok-1') }]);
    await client(fake.fetch).withToken('client-a', async () => 'ok', { minValidity: 300 });
    expect(fake.calls[0]?.line).toBe('GET /prod/tokens/client-a?minValidity=300');
  });
});

describe('waits, not errors, when the successor is near', () => {
  const rotating = (retryAfterSeconds: number): Answer => ({
    status: 503,
    body: { error: { code: 'TokenRotating', message: 'rotating' } },
    headers: { 'retry-after': String(retryAfterSeconds) },
  });

  it('waits out a TokenRotating Retry-After inside the rotation window of the validity asked for', async () => {
    // 60 s asked, the current token has 40 s left: the successor is due in 40 s + the vendor's slack.
    const clock = fakeClock();
    const fake = scriptedFetch([rotating(43), { status: 200, body: tokenBody('tok-2') }]);
    const token = await client(fake.fetch, clock).getToken('client-a', { minValidity: 60 });
    expect(token.accessToken).toBe('tok-2');
    expect(clock.sleeps).toEqual([43_000]);
  });

  it('waits out several Retry-After answers in a row while the budget lasts', async () => {
    const clock = fakeClock();
    const fake = scriptedFetch([rotating(3), rotating(2), { status: 200, body: tokenBody('tok-2') }]);
    await client(fake.fetch, clock)
      .marketoFetch('client-a', 'https://marketo.example.com/x')
      .catch(() => {});
    expect(clock.sleeps).toEqual([3_000, 2_000]);
  });

  it('counts a token fetched after a Retry-After wait from the answer, not from the first attempt', async () => {
    const clock = fakeClock();
    const fake = scriptedFetch([
      rotating(30),
      {
        status: 200,
        body: { ...tokenBody('tok-2'), expiresAt: new Date(NOW + 30_000 + 3_600_000).toISOString() },
      },
    ]);
    const token = await client(fake.fetch, clock).getToken('client-a', { minValidity: 20 });
    expect(token.expiresAt).toBe(NOW + 30_000 + 3_600_000);
  });

  it('keeps the full life of a token the vendor answered after waiting for it (counted from the answer)', async () => {
    // The vendor holds the request 2.5 s until the successor exists, then states 3600 s from its answer.
    const clock = fakeClock();
    const fetchImpl: typeof fetch = async () => {
      clock.advance(2_500);
      const body = { ...tokenBody('tok-2'), expiresAt: new Date(NOW + 2_500 + 3_600_000).toISOString() };
      return new Response(JSON.stringify(body), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    };
    const token = await client(fetchImpl, clock).getToken('client-a', { minValidity: 1 });
    expect(token.expiresAt).toBe(NOW + 2_500 + 3_600_000);
  });

  it('has a default budget of minValidity plus 30 s: the rotation window', () => {
    expect(defaultRetryBudgetMs(REQUEST_MIN_VALIDITY_SECONDS)).toBe(31_000);
    expect(defaultRetryBudgetMs(DEFAULT_MIN_VALIDITY_SECONDS)).toBe(50_000);
  });

  it('covers any Retry-After the vendor gives for a rotation (expiry slack past minValidity)', () => {
    // The vendor's Retry-After for TokenRotating is at most minValidity + its expiry slack, rounded up.
    const longestRetryAfterMs = (minValidity: number) =>
      minValidity * 1000 + Math.ceil(DEFAULT_TOKEN_VENDOR_CONFIG.expirySlackMs / 1000) * 1000 + 1000;
    for (const minValidity of [0, 2, 20, 60, 600, 3500]) {
      expect(defaultRetryBudgetMs(minValidity)).toBeGreaterThanOrEqual(longestRetryAfterMs(minValidity));
    }
  });

  it('throws TokenRotating, with retryAfterSeconds, when the caller set a budget the wait does not fit', async () => {
    const clock = fakeClock();
    const fake = scriptedFetch([rotating(43)]);
    const error = await client(fake.fetch, clock)
      .getToken('client-a', { minValidity: 60, retryBudgetMs: 5_000 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TokenRotating', status: 503, retryAfterSeconds: 43 });
    expect(clock.sleeps).toEqual([]);
  });

  it('throws TokenRotating when the client-wide retryBudgetMs is shorter than the wait', async () => {
    const fake = scriptedFetch([rotating(43)]);
    await expect(
      client(fake.fetch, fakeClock(), 10_000).getToken('client-a', { minValidity: 60 }),
    ).rejects.toMatchObject({ code: 'TokenRotating' });
  });

  it("sends the caller's validity with an invalidate, so the replacement serves the retry", async () => {
    const fake = scriptedFetch([
      { status: 200, body: tokenBody('tok-1') },
      { status: 200, body: tokenBody('tok-2') },
    ]);
    await client(fake.fetch).withToken(
      'client-a',
      async (token) => {
        if (token.accessToken === 'tok-1') throw new MarketoApiError('601', 'Access token invalid');
        return 'ok';
      },
      { minValidity: 30 },
    );
    expect(fake.calls[1]?.line).toBe('POST /prod/tokens/client-a/invalidate?minValidity=30');
  });
});

describe('client error codes', () => {
  it('mirror every stable code the vendor answers with (the client does not import the runtime)', () => {
    expect([...API_ERROR_CODES].sort()).toEqual([...ERROR_CODES].sort());
  });
});

describe('client defaults', () => {
  it("accept exactly the vendor's client id and instance alphabet", () => {
    expect(NAME_PATTERN.source).toBe(contract.CLIENT_ID_PATTERN_SOURCE);
  });

  it("call exactly the paths of the vendor's route table", async () => {
    const { readFileSync } = await import('node:fs');
    // The token routes are built in token-target.ts, the permit routes (and their `/release`) in permits.ts,
    // the Bulk API slot routes (and their `/renew` and `/release`) in bulk-slots.ts.
    const source = ['token-target.ts', 'permits.ts', 'bulk-slots.ts']
      .map((file) => readFileSync(new URL(`../../../client/${file}`, import.meta.url), 'utf8'))
      .join('\n');
    for (const route of contract.ROUTES) {
      const action = /\/(release|renew)$/.exec(route.resource)?.[1];
      const base = action ? route.resource.slice(0, -action.length - 1) : route.resource;
      const filled = (name: string) => `\`${base.replace(`{${route.pathParameter}}`, `\${${name}}`)}\``;
      const forms = [filled(route.pathParameter), filled(`target.${route.pathParameter}`)];
      expect(
        forms.some((form) => source.includes(form)),
        `${route.method} ${route.resource}`,
      ).toBe(true);
      if (action) expect(source).toContain(`\`\${basePath}/${action}\``);
    }
  });

  it("mirror the vendor's default minValidity (the API's, the direct invoke's and tokenTask's)", () => {
    expect(DEFAULT_MIN_VALIDITY_SECONDS).toBe(contract.DEFAULT_MIN_VALIDITY_SECONDS);
    expect(DEFAULT_MIN_VALIDITY_SECONDS).toBe(DEFAULT_TOKEN_VENDOR_CONFIG.defaultMinValiditySeconds);
    expect(DEFAULT_MIN_VALIDITY_SECONDS).toBe(
      readRuntimeConfig({ TABLE_NAME: 'tokens' }).vendor.defaultMinValiditySeconds,
    );
  });

  it("mirror the contract's rotation allowance (tokenTask's retry window past minValidity)", () => {
    expect(ROTATION_ALLOWANCE_MS).toBe(contract.ROTATION_ALLOWANCE_SECONDS * 1000);
  });
});
