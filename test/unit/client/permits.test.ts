import { describe, expect, it, vi } from 'vitest';
import { createTokenClient, TokenVendorClientError } from '../../../client/index.js';

const NOW = Date.UTC(2026, 11, 1, 20, 0, 0);
const MARKETO = 'https://123-abc-456.mktorest.com/rest/v1/leads.json';

type Answer = { status: number; body: unknown; headers?: Record<string, string> };

/** The vendor's answer to a permit request once the instance's daily quota is used up. */
const QUOTA_USED_UP: Answer = {
  status: 429,
  body: { error: { code: 'DailyQuotaExhausted', message: 'used up' } },
  headers: { 'retry-after': '36000' },
};

/**
 * A vendor + Marketo fake: permits, the token routes (token and invalidate) and Marketo answer from their
 * scripts, then with a permit, a token `tok-1` of an hour and a success. `auths` records the Authorization
 * Marketo received.
 */
const world = (script: { permits?: Answer[]; tokens?: Answer[]; marketo?: unknown[] } = {}) => {
  const lines: string[] = [];
  const auths: string[] = [];
  const bodies: Array<Record<string, unknown>> = [];
  let permitSeq = 0;
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    lines.push(`${init?.method ?? 'GET'} ${url.host === 'vendor.test' ? url.pathname : 'marketo'}`);
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : {};
    bodies.push(body);
    let answer: Answer;
    if (url.host !== 'vendor.test') {
      auths.push(new Headers(init?.headers).get('authorization') ?? '');
      answer = { status: 200, body: script.marketo?.shift() ?? { success: true, result: [] } };
    } else if (url.pathname.endsWith('/permits/release')) {
      answer = { status: 200, body: { released: true } };
    } else if (url.pathname.endsWith('/permits')) {
      permitSeq += 1;
      answer = script.permits?.shift() ?? {
        status: 200,
        body: {
          permitId: `0000000${permitSeq}-0000-4000-8000-000000000000`,
          count: 1,
          unmetered: false,
          waitedMs: 0,
        },
      };
    } else {
      answer = script.tokens?.shift() ?? tokenAnswer('tok-1', 3600);
    }
    return new Response(JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': 'application/json', ...answer.headers },
    });
  };
  let now = NOW;
  const sleeps: number[] = [];
  const events: unknown[] = [];
  const client = createTokenClient({
    endpoint: 'https://vendor.test/prod',
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret-key' },
    fetch: fetchImpl,
    clock: {
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    },
    budget: { onEvent: (event) => events.push(event) },
  });
  return { client, lines, auths, bodies, sleeps, events };
};

const tokenAnswer = (accessToken: string, expiresIn: number): Answer => ({
  status: 200,
  body: { clientId: 'sync', accessToken, tokenType: 'bearer', expiresIn },
});

/** The lines of a run without the releases sent on their own (they linger 25 ms of real time first). */
const withoutLoneReleases = (lines: readonly string[]): string[] =>
  lines.filter((line) => !line.endsWith('/permits/release'));

const limitBody = (code: string, message: string) => ({ success: false, errors: [{ code, message }] });

describe('client budget', () => {
  it('marketoFetch takes the permit first, then the token, then calls Marketo', async () => {
    const { client, lines } = world();

    const response = await client.marketoFetch('sync', MARKETO);

    expect(response.status).toBe(200);
    expect(lines).toEqual(['POST /prod/tokens/sync/permits', 'GET /prod/tokens/sync', 'GET marketo']);
  });

  it('withToken takes the permit first, then the token, then runs the callback', async () => {
    const { client, lines } = world();

    const result = await client.withToken('sync', async (token) => {
      lines.push(`callback ${token.accessToken}`);
      return { success: true };
    });

    expect(result).toEqual({ success: true });
    expect(lines).toEqual(['POST /prod/tokens/sync/permits', 'GET /prod/tokens/sync', 'callback tok-1']);
  });

  it('fetches the token after waiting for the permit, so a one-second token cannot go stale in the wait', async () => {
    const { client, lines, auths } = world({
      tokens: [tokenAnswer('tok-1', 1), tokenAnswer('tok-2', 3600)],
      permits: [
        {
          status: 200,
          body: { permitId: '0000000a-0000-4000-8000-000000000000', count: 1, unmetered: false, waitedMs: 0 },
        },
        {
          status: 429,
          body: {
            error: { code: 'PermitUnavailable', message: 'full', retryAfterMs: 1_234, reason: 'rate' },
          },
          headers: { 'retry-after': '2' },
        },
      ],
    });
    await client.marketoFetch('sync', MARKETO);

    await client.marketoFetch('sync', MARKETO);

    // tok-1 had 1 s left when the second call began; the permit came 1.234 s (plus jitter) later.
    expect(withoutLoneReleases(lines)).toEqual([
      'POST /prod/tokens/sync/permits',
      'GET /prod/tokens/sync',
      'GET marketo',
      'POST /prod/tokens/sync/permits',
      'POST /prod/tokens/sync/permits',
      'GET /prod/tokens/sync',
      'GET marketo',
    ]);
    expect(auths).toEqual(['Bearer tok-1', 'Bearer tok-2']);
  });

  it('after a 601 reports the rejected token under the permit of the retry, then calls Marketo with the replacement', async () => {
    const { client, lines, auths } = world({
      tokens: [tokenAnswer('tok-1', 3600), tokenAnswer('tok-2', 3600)],
      marketo: [limitBody('601', 'Access token invalid')],
    });

    const response = await client.marketoFetch('sync', MARKETO);

    expect(await response.json()).toEqual({ success: true, result: [] });
    expect(withoutLoneReleases(lines)).toEqual([
      'POST /prod/tokens/sync/permits',
      'GET /prod/tokens/sync',
      'GET marketo',
      'POST /prod/tokens/sync/permits',
      'POST /prod/tokens/sync/invalidate',
      'GET marketo',
    ]);
    expect(auths).toEqual(['Bearer tok-1', 'Bearer tok-2']);
  });

  it('gives back a permit that the token fetch outlasted, and calls Marketo under a new one with the token fetched', async () => {
    const { client, lines, bodies, sleeps } = world({
      tokens: [
        {
          status: 503,
          body: { error: { code: 'TokenRotating', message: 'rotating' } },
          headers: { 'retry-after': '1' },
        },
        tokenAnswer('tok-2', 3600),
      ],
    });

    await client.marketoFetch('sync', MARKETO);

    // The first permit's use-by was 500 ms after it was asked for; the token came 1 s later.
    expect(sleeps).toEqual([1_000]);
    expect(withoutLoneReleases(lines)).toEqual([
      'POST /prod/tokens/sync/permits',
      'GET /prod/tokens/sync',
      'GET /prod/tokens/sync',
      'POST /prod/tokens/sync/permits',
      'GET marketo',
    ]);
    expect(bodies[3]).toMatchObject({ release: '00000001-0000-4000-8000-000000000000' });
    expect(client.budgetStats()).toMatchObject({ permits: 2, expired: 1 });
  });

  it("carries the previous call's release on the next permit request (one vendor call per Marketo call)", async () => {
    const { client, lines, bodies } = world();
    await client.marketoFetch('sync', MARKETO);

    await client.marketoFetch('sync', MARKETO);

    expect(lines.filter((l) => l.includes('/permits'))).toEqual([
      'POST /prod/tokens/sync/permits',
      'POST /prod/tokens/sync/permits',
    ]);
    expect(bodies[3]).toMatchObject({ release: '00000001-0000-4000-8000-000000000000' });
  });

  it('releases the permit on its own when no other call follows', async () => {
    const { client, lines } = world();

    await client.marketoFetch('sync', MARKETO);

    // The release lingers 25 ms for a following call to carry it; generous bound for slow machines.
    await vi.waitFor(() => expect(lines).toContain('POST /prod/tokens/sync/permits/release'), {
      timeout: 5_000,
    });
  });

  it('waits the exact time the vendor names when no permit is free, then calls Marketo', async () => {
    const { client, sleeps, lines } = world({
      permits: [
        {
          status: 429,
          body: {
            error: { code: 'PermitUnavailable', message: 'full', retryAfterMs: 1_234, reason: 'rate' },
          },
          headers: { 'retry-after': '2' },
        },
      ],
    });

    await client.marketoFetch('sync', MARKETO);

    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(1_234);
    expect(sleeps[0]).toBeLessThan(1_334);
    expect(lines.filter((l) => l === 'GET marketo')).toHaveLength(1);
  });

  it('fails fast with DailyQuotaExhausted when the vendor says the quota is used up, without calling Marketo', async () => {
    const { client, lines } = world({
      permits: [QUOTA_USED_UP],
    });

    const error = await client.marketoFetch('sync', MARKETO).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenVendorClientError);
    expect(error).toMatchObject({ code: 'DailyQuotaExhausted', retryable: false });
    expect(lines).not.toContain('GET marketo');
  });

  it('backs off with jitter after a 606 from Marketo, reports it on release, and retries', async () => {
    const { client, bodies, sleeps, events } = world({
      marketo: [limitBody('606', "Max rate limit '100' exceeded with in '20' secs")],
    });

    const response = await client.marketoFetch('sync', MARKETO);

    expect(await response.json()).toEqual({ success: true, result: [] });
    expect(bodies).toContainEqual({ permitId: '00000001-0000-4000-8000-000000000000', marketoError: '606' });
    expect(sleeps).toHaveLength(1);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'marketo-limit', code: '606' }));
    expect(client.budgetStats()).toMatchObject({ marketo606: 1, permits: 2 });
  });

  it('throws a typed DailyQuotaExhausted on a 607 from Marketo without retrying', async () => {
    const { client, lines } = world({ marketo: [limitBody('607', 'Daily quota reached')] });

    await expect(client.marketoFetch('sync', MARKETO)).rejects.toMatchObject({ code: 'DailyQuotaExhausted' });
    expect(lines.filter((l) => l === 'GET marketo')).toHaveLength(1);
  });

  it('retries a withToken callback that returned a 615 body', async () => {
    const { client } = world();
    let runs = 0;

    const result = await client.withToken('sync', async () => {
      runs += 1;
      return runs === 1 ? limitBody('615', 'Concurrent access limit reached') : { success: true };
    });

    expect(result).toEqual({ success: true });
    expect(client.budgetStats()).toMatchObject({ marketo615: 1 });
  });

  it('goes on unmetered, and stops asking, when the deployment has no permit route for the caller', async () => {
    const { client, lines } = world({
      permits: [{ status: 403, body: { error: { code: 'AccessDenied', message: 'not granted' } } }],
    });

    await client.marketoFetch('sync', MARKETO);
    await client.marketoFetch('sync', MARKETO);

    expect(lines.filter((l) => l.includes('/permits'))).toHaveLength(1);
    expect(lines.filter((l) => l === 'GET marketo')).toHaveLength(2);
  });

  it('fails the next call at once, without asking the vendor, once the daily quota is known to be used up', async () => {
    const { client, lines } = world({
      permits: [QUOTA_USED_UP],
    });
    await client.marketoFetch('sync', MARKETO).catch(() => undefined);
    const before = lines.length;

    await expect(client.marketoFetch('sync', MARKETO)).rejects.toMatchObject({ code: 'DailyQuotaExhausted' });
    expect(lines.length).toBe(before);
  });

  it('does not use a permit that arrived after its use-by time, and asks again', async () => {
    const { client, lines } = world({
      permits: [
        {
          status: 200,
          body: {
            permitId: '0000000a-0000-4000-8000-000000000000',
            count: 1,
            unmetered: false,
            waitedMs: 0,
            useByMs: -1,
          },
        },
      ],
    });

    await client.marketoFetch('sync', MARKETO);

    expect(lines.filter((l) => l === 'POST /prod/tokens/sync/permits')).toHaveLength(2);
    expect(lines.filter((l) => l === 'GET marketo')).toHaveLength(1);
    expect(client.budgetStats()).toMatchObject({ expired: 1 });
  });
});

describe('close', () => {
  it('sends the release still lingering at once, so a finished job holds no concurrency slot', async () => {
    const { client, lines, bodies } = world();
    await client.marketoFetch('sync', MARKETO);

    await client.close();

    expect(lines).toEqual([
      'POST /prod/tokens/sync/permits',
      'GET /prod/tokens/sync',
      'GET marketo',
      'POST /prod/tokens/sync/permits/release',
    ]);
    expect(bodies.at(-1)).toEqual({ permitId: '00000001-0000-4000-8000-000000000000' });
  });

  it('waits for the release to be answered before it resolves', async () => {
    const { client, lines } = world();
    await client.marketoFetch('sync', MARKETO);
    let answered = false;
    const closing = client.close().then(() => {
      answered = lines.includes('POST /prod/tokens/sync/permits/release');
    });

    await closing;

    expect(answered).toBe(true);
  });

  it('stays usable: a call after close gets its permit and token, and the next close releases it', async () => {
    const { client, lines } = world();
    await client.marketoFetch('sync', MARKETO);
    await client.close();

    const response = await client.marketoFetch('sync', MARKETO);
    await client.close();

    expect(response.status).toBe(200);
    expect(lines.slice(4)).toEqual([
      'POST /prod/tokens/sync/permits',
      'GET marketo',
      'POST /prod/tokens/sync/permits/release',
    ]);
  });

  it('resolves at once when nothing is held', async () => {
    const { client, lines } = world();

    await client.close();

    expect(lines).toEqual([]);
  });
});
