import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpIdentityClient } from '../../../../functions/adapters/http-identity-client.js';
import {
  CredentialsRejectedError,
  IdentityBadResponseError,
  IdentityUnavailableError,
  TokenVendorError,
} from '../../../../functions/core/errors.js';
import type { ClientCredentials } from '../../../../functions/core/ports.js';
import { createMarketoSimulator, type MarketoSimulator } from '../../../../local/marketo-simulator.js';
import type { IdentityFault } from '../../../../local/simulator/identity.js';
import { registerSensitive } from '../../../../testing/leak-scan.js';

/** Distinctive, with characters that change under URL encoding, so every encoded form can be searched. */
const SECRET = 'S3cr3t value/+=&XYZ-7f1c';
const SECRET_FORMS = [
  SECRET,
  encodeURIComponent(SECRET),
  new URLSearchParams({ s: SECRET }).toString().slice(2),
];
const TIMEOUT_MS = 2_000;
registerSensitive(SECRET);

/** Everything an error could leak through: message, stack, cause chain, own properties, JSON. */
function everythingIn(error: unknown): string {
  const parts: string[] = [inspect(error, { depth: 10, showHidden: true }), JSON.stringify(error) ?? ''];
  let current: unknown = error;
  for (let depth = 0; depth < 10 && current instanceof Error; depth += 1) {
    parts.push(current.message, current.stack ?? '', JSON.stringify(current) ?? '');
    current = current.cause;
  }
  return parts.join('\n');
}

function expectNoSecret(error: unknown): void {
  const text = everythingIn(error);
  for (const form of SECRET_FORMS) expect(text).not.toContain(form);
}

async function failureOf(promise: Promise<unknown>): Promise<TokenVendorError> {
  const outcome = await promise.then(
    () => new Error('expected a rejection'),
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(TokenVendorError);
  return outcome as TokenVendorError;
}

describe('HttpIdentityClient', () => {
  let sim: MarketoSimulator;
  let credentials: ClientCredentials;
  const client = new HttpIdentityClient();

  beforeEach(async () => {
    sim = createMarketoSimulator({ clients: [{ clientId: 'sync-job', clientSecret: SECRET }] });
    await sim.start();
    credentials = { clientId: 'sync-job', clientSecret: SECRET, identityUrl: sim.identityUrl };
  });

  afterEach(async () => {
    registerSensitive(...sim.issuedTokens());
    await sim.stop();
  });

  describe('on success', () => {
    it('returns the token, its type, scope and remaining lifespan', async () => {
      // Act
      const token = await client.fetchToken(credentials, { timeoutMs: TIMEOUT_MS });

      // Assess
      expect(token).toEqual({
        accessToken: sim.issuedTokens()[0],
        tokenType: 'bearer',
        scope: 'sync-job@api-user.marketo-simulator.test',
        expiresInSeconds: 3600,
      });
    });

    it('sends the secret in a POST form body, never in the URL', async () => {
      // Act
      await client.fetchToken(credentials, { timeoutMs: TIMEOUT_MS });

      // Assess
      expect(sim.identityRequests()).toEqual([
        expect.objectContaining({ method: 'POST', clientId: 'sync-job', secretIn: 'body' }),
      ]);
    });

    it('posts to <identityUrl>/oauth/token with Accept: application/json through an injected fetch', async () => {
      // Prepare
      const seen: Array<{ url: string; init?: RequestInit }> = [];
      const recordingFetch: typeof fetch = async (input, init) => {
        seen.push({ url: String(input), init });
        return fetch(input, init);
      };

      // Act
      await new HttpIdentityClient({ fetch: recordingFetch }).fetchToken(
        { ...credentials, identityUrl: `${sim.identityUrl}/` },
        { timeoutMs: TIMEOUT_MS },
      );

      // Assess
      expect(seen).toHaveLength(1);
      expect(seen[0]?.url).toBe(`${sim.identityUrl}/oauth/token`);
      expect(seen[0]?.init?.method).toBe('POST');
      expect(seen[0]?.init?.headers).toMatchObject({ accept: 'application/json' });
      expect(new URLSearchParams(String(seen[0]?.init?.body)).get('grant_type')).toBe('client_credentials');
    });

    it('returns expires_in 0 as is: the core decides what a dying token means', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'expires-in', value: 0 });

      // Act
      const token = await client.fetchToken(credentials, { timeoutMs: TIMEOUT_MS });

      // Assess
      expect(token.expiresInSeconds).toBe(0);
    });
  });

  describe('when the credentials are refused', () => {
    it('throws CredentialsRejected for a bad secret, quoting Identity but not the secret', async () => {
      // Prepare
      sim.setClientSecret('sync-job', 'rotated');

      // Act
      const error = await failureOf(client.fetchToken(credentials, { timeoutMs: TIMEOUT_MS }));

      // Assess
      expect(error).toBeInstanceOf(CredentialsRejectedError);
      expect(error.code).toBe('CredentialsRejected');
      expect(error.message).toContain('Bad client credentials');
      expectNoSecret(error);
    });

    it('throws CredentialsRejected for an unknown client id', async () => {
      // Act
      const error = await failureOf(
        client.fetchToken({ ...credentials, clientId: 'nobody' }, { timeoutMs: TIMEOUT_MS }),
      );

      // Assess
      expect(error).toBeInstanceOf(CredentialsRejectedError);
      expect(error.message).toContain('No client with requested id');
      expectNoSecret(error);
    });

    it('never repeats an error_description it does not recognise (it may echo the secret)', async () => {
      // Prepare
      const echoingFetch: typeof fetch = async () =>
        new Response(JSON.stringify({ error: 'unauthorized', error_description: `Bad secret ${SECRET}` }), {
          status: 401,
        });

      // Act
      const error = await failureOf(
        new HttpIdentityClient({ fetch: echoingFetch }).fetchToken(credentials, { timeoutMs: TIMEOUT_MS }),
      );

      // Assess
      expect(error).toBeInstanceOf(CredentialsRejectedError);
      expect(error.message).toBe(
        'Identity rejected the credentials of client "sync-job" (HTTP 401, unauthorized)',
      );
      expectNoSecret(error);
    });

    it('repeats neither an error nor an errors[].code that is not on its allowlist', async () => {
      // Prepare
      const answers = [
        { status: 403, body: { error: SECRET.toUpperCase(), error_description: SECRET } },
        { status: 200, body: { errors: [{ code: [...SECRET].reverse().join(''), message: SECRET }] } },
      ];
      const messages: string[] = [];

      // Act
      for (const { status, body } of answers) {
        const echoing: typeof fetch = async () => new Response(JSON.stringify(body), { status });
        const client = new HttpIdentityClient({ fetch: echoing });
        messages.push((await failureOf(client.fetchToken(credentials, { timeoutMs: TIMEOUT_MS }))).message);
      }

      // Assess
      expect(messages).toEqual([
        'Identity refused the request (HTTP 403)',
        'Identity answered an unrecognised Marketo error',
      ]);
    });

    it("names a Marketo error by its code and our own words, not Identity's message", async () => {
      // Prepare
      const echoing: typeof fetch = async () =>
        new Response(JSON.stringify({ errors: [{ code: 606, message: `rate ${SECRET}` }] }), { status: 200 });

      // Act
      const error = await failureOf(
        new HttpIdentityClient({ fetch: echoing }).fetchToken(credentials, { timeoutMs: TIMEOUT_MS }),
      );

      // Assess
      expect(error.message).toBe('Identity answered Marketo error 606 (rate limit exceeded)');
    });

    it('keeps only an email-shaped scope that repeats no part of the secret, and always says bearer', async () => {
      // Prepare
      const answer =
        (scope: string, tokenType: string): typeof fetch =>
        async () =>
          new Response(
            JSON.stringify({ access_token: 'a1b2:ab', token_type: tokenType, scope, expires_in: 3600 }),
            { status: 200 },
          );
      const fetchWith = (scope: string, tokenType = 'bearer') =>
        new HttpIdentityClient({ fetch: answer(scope, tokenType) }).fetchToken(credentials, {
          timeoutMs: TIMEOUT_MS,
        });

      // Act
      const plain = await fetchWith('api-user@example.com', SECRET);
      const echoed = await fetchWith(`${SECRET.slice(-8).toLowerCase()}@example.com`);
      const sentence = await fetchWith(`scope ${SECRET}`);

      // Assess
      expect(plain).toMatchObject({ tokenType: 'bearer', scope: 'api-user@example.com' });
      expect(echoed.scope).toBeUndefined();
      expect(sentence.scope).toBeUndefined();
    });

    it('truncates a long error_description to 200 characters', async () => {
      // Prepare
      const verboseFetch: typeof fetch = async () =>
        new Response(JSON.stringify({ error: 'invalid_client', error_description: 'x'.repeat(1000) }), {
          status: 400,
        });

      // Act
      const error = await failureOf(
        new HttpIdentityClient({ fetch: verboseFetch }).fetchToken(credentials, { timeoutMs: TIMEOUT_MS }),
      );

      // Assess
      expect(error).toBeInstanceOf(CredentialsRejectedError);
      expect(error.message).not.toContain('x'.repeat(201));
    });
  });

  describe('when Identity misbehaves', () => {
    const cases: ReadonlyArray<{
      readonly name: string;
      readonly fault: IdentityFault;
      readonly error: typeof IdentityUnavailableError | typeof IdentityBadResponseError;
      readonly message: RegExp;
      readonly retryAfterSeconds?: number;
    }> = [
      {
        name: 'HTTP 500',
        fault: { kind: 'status', status: 500 },
        error: IdentityUnavailableError,
        message: /HTTP 500/,
      },
      {
        name: 'HTTP 502 with an HTML page',
        fault: { kind: 'status', status: 502, body: 'html' },
        error: IdentityUnavailableError,
        message: /HTTP 502/,
      },
      {
        name: 'HTTP 503',
        fault: { kind: 'status', status: 503 },
        error: IdentityUnavailableError,
        message: /HTTP 503/,
      },
      {
        name: 'HTTP 429',
        fault: { kind: 'status', status: 429 },
        error: IdentityUnavailableError,
        message: /HTTP 429/,
      },
      {
        name: 'Marketo error 606 (rate limit)',
        fault: { kind: 'rate-limit' },
        error: IdentityUnavailableError,
        message: /606/,
        retryAfterSeconds: 20,
      },
      {
        name: 'Marketo error 615 (concurrency)',
        fault: { kind: 'rate-limit', code: '615' },
        error: IdentityUnavailableError,
        message: /615/,
      },
      {
        name: 'a dropped connection',
        fault: { kind: 'drop' },
        error: IdentityUnavailableError,
        message: /closed the connection/,
      },
      {
        name: 'a reset in the middle of the body',
        fault: { kind: 'reset-mid-body' },
        error: IdentityUnavailableError,
        message: /reading the response/,
      },
      {
        name: 'malformed JSON',
        fault: { kind: 'malformed-json' },
        error: IdentityBadResponseError,
        message: /not JSON/,
      },
      {
        name: 'a 200 without access_token',
        fault: { kind: 'no-access-token' },
        error: IdentityBadResponseError,
        message: /without an access_token/,
      },
      {
        name: 'a negative expires_in',
        fault: { kind: 'expires-in', value: -5 },
        error: IdentityBadResponseError,
        message: /expires_in/,
      },
      {
        name: 'a missing expires_in',
        fault: { kind: 'expires-in', value: null },
        error: IdentityBadResponseError,
        message: /expires_in/,
      },
    ];

    it.each(cases)('maps $name to $error.name', async ({ fault, error, message, retryAfterSeconds }) => {
      // Prepare
      sim.injectIdentityFault(fault);

      // Act
      const thrown = await failureOf(client.fetchToken(credentials, { timeoutMs: TIMEOUT_MS }));

      // Assess
      expect(thrown).toBeInstanceOf(error);
      expect(thrown.message).toMatch(message);
      if (retryAfterSeconds !== undefined) expect(thrown.retryAfterSeconds).toBe(retryAfterSeconds);
      expectNoSecret(thrown);
    });

    it('gives the stable codes IdentityUnavailable and IdentityBadResponse', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'status', status: 503 });
      sim.injectIdentityFault({ kind: 'malformed-json' });

      // Act
      const unavailable = await failureOf(client.fetchToken(credentials, { timeoutMs: TIMEOUT_MS }));
      const bad = await failureOf(client.fetchToken(credentials, { timeoutMs: TIMEOUT_MS }));

      // Assess
      expect([unavailable.code, unavailable.name]).toEqual(['IdentityUnavailable', 'IdentityUnavailable']);
      expect([bad.code, bad.name]).toEqual(['IdentityBadResponse', 'IdentityBadResponse']);
    });

    it('honours a Retry-After header in seconds', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'status', status: 503, retryAfter: '7' });

      // Act
      const error = await failureOf(client.fetchToken(credentials, { timeoutMs: TIMEOUT_MS }));

      // Assess
      expect(error.retryAfterSeconds).toBe(7);
    });

    it('honours a Retry-After header given as an HTTP date', async () => {
      // Prepare
      const now = Date.UTC(2025, 0, 1, 12, 0, 0);
      sim.injectIdentityFault({
        kind: 'status',
        status: 429,
        retryAfter: new Date(now + 30_000).toUTCString(),
      });

      // Act
      const error = await failureOf(
        new HttpIdentityClient({ now: () => now }).fetchToken(credentials, { timeoutMs: TIMEOUT_MS }),
      );

      // Assess
      expect(error.retryAfterSeconds).toBe(30);
    });

    it('asks a 607 daily-quota caller to wait until midnight US Central', async () => {
      // Prepare: 23:00 in Chicago (CST, UTC-6) is 05:00 UTC the next day.
      const now = Date.UTC(2025, 0, 2, 5, 0, 0);
      sim.injectIdentityFault({ kind: 'rate-limit', code: '607' });

      // Act
      const error = await failureOf(
        new HttpIdentityClient({ now: () => now }).fetchToken(credentials, { timeoutMs: TIMEOUT_MS }),
      );

      // Assess
      expect(error).toBeInstanceOf(IdentityUnavailableError);
      expect(error.retryAfterSeconds).toBe(3600);
    });

    // Issue 24: on the days daylight saving time starts or ends the Chicago day has 23 or 25 hours, so the
    // reset is not 86,400 s minus the seconds elapsed on the wall clock. 00:30 is before the 02:00 change.
    it.for([
      { day: 'DST starts 2026-03-08', now: Date.UTC(2026, 2, 8, 6, 30), reset: Date.UTC(2026, 2, 9, 5, 0) },
      { day: 'DST ends 2026-11-01', now: Date.UTC(2026, 10, 1, 5, 30), reset: Date.UTC(2026, 10, 2, 6, 0) },
      { day: 'DST starts 2027-03-14', now: Date.UTC(2027, 2, 14, 6, 30), reset: Date.UTC(2027, 2, 15, 5, 0) },
      { day: 'DST ends 2027-11-07', now: Date.UTC(2027, 10, 7, 5, 30), reset: Date.UTC(2027, 10, 8, 6, 0) },
    ])(
      'asks a 607 caller at 00:30 in Chicago on the day $day to wait until the real midnight',
      async ({ now, reset }) => {
        // Prepare
        sim.injectIdentityFault({ kind: 'rate-limit', code: '607' });

        // Act
        const error = await failureOf(
          new HttpIdentityClient({ now: () => now }).fetchToken(credentials, { timeoutMs: TIMEOUT_MS }),
        );

        // Assess: 22.5 h when the day is 23 h long, 24.5 h when it is 25 h long.
        expect(error.retryAfterSeconds).toBe((reset - now) / 1000);
      },
    );

    it('times out a hanging Identity after timeoutMs', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'hang' });

      // Act
      const started = Date.now();
      const error = await failureOf(client.fetchToken(credentials, { timeoutMs: 100 }));

      // Assess
      expect(error).toBeInstanceOf(IdentityUnavailableError);
      expect(error.message).toBe('Identity timed out after 100 ms');
      // Real time, since a real socket hangs: without the timeout this call would hang to the test's
      // timeout; 10 s holds on a machine ten times slower (it takes ~100 ms here).
      expect(Date.now() - started).toBeLessThan(10_000);
      expectNoSecret(error);
    });

    it('times out an Identity that is slower than timeoutMs', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'delay', ms: 1_000 });

      // Act
      const error = await failureOf(client.fetchToken(credentials, { timeoutMs: 50 }));

      // Assess
      expect(error.message).toBe('Identity timed out after 50 ms');
    });

    it("stops when the caller's signal aborts", async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'hang' });
      const controller = new AbortController();

      // Act
      const pending = failureOf(
        client.fetchToken(credentials, { timeoutMs: 10_000, signal: controller.signal }),
      );
      controller.abort();
      const error = await pending;

      // Assess
      expect(error).toBeInstanceOf(IdentityUnavailableError);
      expect(error.message).toMatch(/aborted by the caller/);
    });

    it('throws IdentityUnavailable when nothing listens', async () => {
      // Prepare
      await sim.stop();

      // Act
      const error = await failureOf(client.fetchToken(credentials, { timeoutMs: TIMEOUT_MS }));

      // Assess
      expect(error).toBeInstanceOf(IdentityUnavailableError);
      expect(error.message).toMatch(/refused the connection/);
      expect(error.cause).toBeInstanceOf(Error);
      expectNoSecret(error);
    });

    it('keeps a cause on network failures that names the underlying error code', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'drop' });

      // Act
      const error = await failureOf(client.fetchToken(credentials, { timeoutMs: TIMEOUT_MS }));

      // Assess
      expect(error.cause).toBeInstanceOf(Error);
      expect(everythingIn(error)).toMatch(/UND_ERR_SOCKET|ECONNRESET/);
    });

    it('scrubs the secret from a network error that quotes it', async () => {
      // Prepare
      const leakyFetch: typeof fetch = async () => {
        throw new TypeError('fetch failed', {
          cause: new Error(`socket closed after body client_secret=${SECRET}`),
        });
      };

      // Act
      const error = await failureOf(
        new HttpIdentityClient({ fetch: leakyFetch }).fetchToken(credentials, { timeoutMs: TIMEOUT_MS }),
      );

      // Assess
      expect(error).toBeInstanceOf(IdentityUnavailableError);
      expectNoSecret(error);
    });

    it('does not follow a redirect, so the form is never replayed elsewhere', async () => {
      // Prepare
      const redirectingFetch: typeof fetch = async () =>
        new Response(null, { status: 307, headers: { location: 'http://127.0.0.1:1/steal' } });

      // Act
      const error = await failureOf(
        new HttpIdentityClient({ fetch: redirectingFetch }).fetchToken(credentials, {
          timeoutMs: TIMEOUT_MS,
        }),
      );

      // Assess
      expect(error).toBeInstanceOf(IdentityBadResponseError);
      expect(error.message).toMatch(/redirect/);
    });

    it('throws IdentityBadResponse for an unexpected 4xx such as 404', async () => {
      // Prepare
      const notFoundFetch: typeof fetch = async () => new Response('<html>404</html>', { status: 404 });

      // Act
      const error = await failureOf(
        new HttpIdentityClient({ fetch: notFoundFetch }).fetchToken(credentials, { timeoutMs: TIMEOUT_MS }),
      );

      // Assess
      expect(error).toBeInstanceOf(IdentityBadResponseError);
      expect(error.message).toMatch(/HTTP 404/);
    });
  });
});
