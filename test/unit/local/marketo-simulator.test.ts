import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createMarketoSimulator,
  DEMO_CLIENT,
  type MarketoSimulator,
} from '../../../local/marketo-simulator.js';
import { registerSensitive } from '../../../testing/leak-scan.js';

const CLIENT = { clientId: 'sync-job', clientSecret: 'sim-secret-1' };
const OTHER = { clientId: 'other-service', clientSecret: 'sim-secret-2' };
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
registerSensitive(CLIENT.clientSecret, OTHER.clientSecret);

interface IdentityAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** Asks Identity the Marketo-documented way (GET with query string) unless told to POST a form. */
async function askIdentity(
  sim: MarketoSimulator,
  params: Record<string, string>,
  method: 'GET' | 'POST' = 'GET',
): Promise<IdentityAnswer> {
  const query = new URLSearchParams(params).toString();
  const response =
    method === 'GET'
      ? await fetch(`${sim.identityUrl}/oauth/token?${query}`)
      : await fetch(`${sim.identityUrl}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: query,
        });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const credentialsOf = (client: { clientId: string; clientSecret: string }) => ({
  grant_type: 'client_credentials',
  client_id: client.clientId,
  client_secret: client.clientSecret,
});

async function tokenOf(sim: MarketoSimulator, client = CLIENT): Promise<IdentityAnswer['body']> {
  const answer = await askIdentity(sim, credentialsOf(client));
  expect(answer.status).toBe(200);
  return answer.body;
}

async function callRest(
  sim: MarketoSimulator,
  path: string,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${sim.restUrl}${path}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('MarketoSimulator', () => {
  let now: number;
  let sim: MarketoSimulator;

  beforeEach(async () => {
    now = T0;
    sim = createMarketoSimulator({ clients: [CLIENT, OTHER], now: () => now });
    await sim.start();
  });

  afterEach(async () => {
    registerSensitive(...sim.issuedTokens());
    await sim.stop();
  });

  describe('lifecycle', () => {
    it('listens on 127.0.0.1 on an ephemeral port and exposes Identity and REST URLs', () => {
      // Assess
      expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(sim.identityUrl).toBe(`${sim.url}/identity`);
      expect(sim.restUrl).toBe(sim.url);
    });

    it('stops promptly even while an Identity request hangs', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'hang' });
      const pending = askIdentity(sim, credentialsOf(CLIENT)).catch((error: unknown) => error);
      await waitFor(() => sim.identityCalls() === 1);

      // Act
      const started = Date.now();
      await sim.stop();

      // Assess: real time, since a real socket hangs. A stop that waited for the hung request would take
      // until the test's timeout; 10 s holds on a machine ten times slower (it takes ~10 ms here).
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await pending).toBeInstanceOf(Error);
    });
  });

  describe('Identity', () => {
    it('issues a bearer token of the form <uuid>:<pod> with the full lifespan and the API user as scope', async () => {
      // Act
      const body = await tokenOf(sim);

      // Assess
      expect(body).toEqual({
        access_token: expect.stringMatching(/^[0-9a-f-]{36}:sim$/),
        token_type: 'bearer',
        expires_in: 3600,
        scope: 'sync-job@api-user.marketo-simulator.test',
      });
    });

    it('returns the same token with a decreasing expires_in until it expires', async () => {
      // Prepare
      const first = await tokenOf(sim);

      // Act
      now += 1_500;
      const second = await tokenOf(sim);
      now += 3_000_000;
      const third = await tokenOf(sim);

      // Assess
      expect(second.access_token).toBe(first.access_token);
      expect(third.access_token).toBe(first.access_token);
      expect(second.expires_in).toBe(3598);
      expect(third.expires_in).toBe(598);
    });

    it('issues a new token only once the old one has expired', async () => {
      // Prepare
      const first = await tokenOf(sim);
      now += 3_599_999;
      const dying = await tokenOf(sim);

      // Act
      now += 1;
      const next = await tokenOf(sim);

      // Assess
      expect(dying.access_token).toBe(first.access_token);
      expect(dying.expires_in).toBe(0);
      expect(next.access_token).not.toBe(first.access_token);
      expect(next.expires_in).toBe(3600);
    });

    it('keeps independent tokens per client id', async () => {
      // Act
      const mine = await tokenOf(sim, CLIENT);
      const theirs = await tokenOf(sim, OTHER);

      // Assess
      expect(mine.access_token).not.toBe(theirs.access_token);
    });

    it('answers with the old dead token and expires_in 0 during the expiry edge window', async () => {
      // Prepare
      await sim.stop();
      sim = createMarketoSimulator({ clients: [CLIENT], now: () => now, expiryEdgeMs: 2_000 });
      await sim.start();
      const first = await tokenOf(sim);

      // Act
      now += 3_600_000 + 1_999;
      const edge = await tokenOf(sim);
      now += 1;
      const next = await tokenOf(sim);

      // Assess
      expect(edge).toMatchObject({ access_token: first.access_token, expires_in: 0 });
      expect(next.access_token).not.toBe(first.access_token);
    });

    it('honours the configured token lifespan', async () => {
      // Prepare
      await sim.stop();
      sim = createMarketoSimulator({ clients: [CLIENT], now: () => now, tokenLifespanSeconds: 60 });
      await sim.start();

      // Act
      const body = await tokenOf(sim);

      // Assess
      expect(body.expires_in).toBe(60);
    });

    it('accepts POST with the credentials in a form body', async () => {
      // Act
      const answer = await askIdentity(sim, credentialsOf(CLIENT), 'POST');

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.body.access_token).toBe((await tokenOf(sim)).access_token);
      expect(sim.identityRequests()[0]).toMatchObject({
        method: 'POST',
        clientId: 'sync-job',
        secretIn: 'body',
      });
    });

    it('accepts POST with the credentials in the query string', async () => {
      // Act
      const response = await fetch(
        `${sim.identityUrl}/oauth/token?${new URLSearchParams(credentialsOf(CLIENT)).toString()}`,
        { method: 'POST' },
      );

      // Assess
      expect(response.status).toBe(200);
      expect(sim.identityRequests()[0]).toMatchObject({ method: 'POST', secretIn: 'query' });
    });

    it('refuses a bad secret with 401 unauthorized "Bad client credentials"', async () => {
      // Act
      const answer = await askIdentity(sim, { ...credentialsOf(CLIENT), client_secret: 'wrong' });

      // Assess
      expect(answer).toEqual({
        status: 401,
        body: { error: 'unauthorized', error_description: 'Bad client credentials' },
      });
    });

    it('refuses an unknown client id with 401 invalid_client "No client with requested id"', async () => {
      // Act
      const answer = await askIdentity(sim, { ...credentialsOf(CLIENT), client_id: 'nobody' });

      // Assess
      expect(answer).toEqual({
        status: 401,
        body: { error: 'invalid_client', error_description: 'No client with requested id' },
      });
    });

    it('refuses a missing grant_type with 400 invalid_request', async () => {
      // Act
      const answer = await askIdentity(sim, {
        client_id: CLIENT.clientId,
        client_secret: CLIENT.clientSecret,
      });

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_request');
    });

    it('refuses another grant_type with 400 unsupported_grant_type', async () => {
      // Act
      const answer = await askIdentity(sim, { ...credentialsOf(CLIENT), grant_type: 'password' });

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('unsupported_grant_type');
    });

    it('refuses the old secret after setClientSecret and accepts the new one', async () => {
      // Act
      sim.setClientSecret(CLIENT.clientId, 'rotated');
      const old = await askIdentity(sim, credentialsOf(CLIENT));
      const rotated = await askIdentity(sim, { ...credentialsOf(CLIENT), client_secret: 'rotated' });

      // Assess
      expect(old.status).toBe(401);
      expect(rotated.status).toBe(200);
    });

    it('knows clients added at run time and forgets removed ones', async () => {
      // Act
      sim.addClient({ clientId: 'late', clientSecret: 'late-secret' });
      const added = await askIdentity(sim, {
        ...credentialsOf(CLIENT),
        client_id: 'late',
        client_secret: 'late-secret',
      });
      sim.removeClient(CLIENT.clientId);
      const removed = await askIdentity(sim, credentialsOf(CLIENT));

      // Assess
      expect(added.status).toBe(200);
      expect(removed.body.error).toBe('invalid_client');
    });

    it('issues a new token at once after revokeToken, and REST refuses the revoked one with 601', async () => {
      // Prepare
      const first = await tokenOf(sim);

      // Act
      sim.revokeToken(CLIENT.clientId);
      const rest = await callRest(sim, '/rest/v1/leads.json', first.access_token as string);
      const next = await tokenOf(sim);

      // Assess
      expect(rest.body.errors).toEqual([{ code: '601', message: 'Access token invalid' }]);
      expect(next.access_token).not.toBe(first.access_token);
      expect(next.expires_in).toBe(3600);
    });
  });

  describe('REST', () => {
    it('serves leads with a valid bearer token', async () => {
      // Prepare
      const { access_token } = await tokenOf(sim);

      // Act
      const answer = await callRest(
        sim,
        '/rest/v1/leads.json?filterType=id&filterValues=1,2',
        access_token as string,
      );

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        success: true,
        requestId: expect.any(String),
        result: [
          { id: 1, email: 'lead1@example.com', firstName: 'Ada', lastName: 'Lovelace' },
          { id: 2, email: 'lead2@example.com', firstName: 'Grace', lastName: 'Hopper' },
        ],
      });
    });

    it('pages through all leads with nextPageToken', async () => {
      // Prepare
      await sim.stop();
      sim = createMarketoSimulator({ clients: [CLIENT], now: () => now, leadCount: 25 });
      await sim.start();
      const token = (await tokenOf(sim)).access_token as string;

      // Act
      const ids: number[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const query = `batchSize=10${pageToken ? `&nextPageToken=${pageToken}` : ''}`;
        const { body } = await callRest(sim, `/rest/v1/leads.json?${query}`, token);
        ids.push(...(body.result as Array<{ id: number }>).map((lead) => lead.id));
        pageToken = body.nextPageToken as string | undefined;
        pages += 1;
      } while (pageToken);

      // Assess
      expect(pages).toBe(3);
      expect(ids).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    });

    it('answers any other /rest/v1 path with success and an empty result', async () => {
      // Prepare
      const { access_token } = await tokenOf(sim);

      // Act
      const answer = await callRest(sim, '/rest/v1/lists.json', access_token as string);

      // Assess
      expect(answer.body).toMatchObject({ success: true, result: [] });
    });

    it('answers 601 (in an HTTP 200) without a token', async () => {
      // Act
      const answer = await callRest(sim, '/rest/v1/leads.json');

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        success: false,
        errors: [{ code: '601', message: 'Access token invalid' }],
      });
    });

    it('answers 601 for a token it never issued', async () => {
      // Act
      const answer = await callRest(sim, '/rest/v1/leads.json', 'not-a-token:sim');

      // Assess
      expect(answer.body.errors).toEqual([{ code: '601', message: 'Access token invalid' }]);
    });

    it('answers 602 once the token has expired', async () => {
      // Prepare
      const { access_token } = await tokenOf(sim);
      now += 3_600_000;

      // Act
      const answer = await callRest(sim, '/rest/v1/leads.json', access_token as string);

      // Assess
      expect(answer.body.errors).toEqual([{ code: '602', message: 'Access token expired' }]);
    });

    it('refuses a token given only as the access_token query parameter with 601 and counts it', async () => {
      // Prepare
      const { access_token } = await tokenOf(sim);

      // Act
      const answer = await callRest(sim, `/rest/v1/leads.json?access_token=${access_token as string}`);

      // Assess
      expect(answer.body.errors).toEqual([{ code: '601', message: 'Access token invalid' }]);
      expect(sim.accessTokenQueryParamUses()).toBe(1);
    });

    it('answers a forced error code for the next calls whatever the token', async () => {
      // Prepare
      const token = (await tokenOf(sim)).access_token as string;
      sim.forceRestError('602', 2);

      // Act
      const first = await callRest(sim, '/rest/v1/leads.json?filterType=id&filterValues=1', token);
      const second = await callRest(sim, '/rest/v1/leads.json?filterType=id&filterValues=1', token);
      const third = await callRest(sim, '/rest/v1/leads.json?filterType=id&filterValues=1', token);

      // Assess
      expect(first.body.errors).toEqual([{ code: '602', message: 'Access token expired' }]);
      expect(second.body.errors).toEqual([{ code: '602', message: 'Access token expired' }]);
      expect(third.body.success).toBe(true);
    });
  });

  describe('counters', () => {
    it('counts Identity calls per client and in total, failed ones included', async () => {
      // Act
      await tokenOf(sim, CLIENT);
      await tokenOf(sim, CLIENT);
      await tokenOf(sim, OTHER);
      await askIdentity(sim, { ...credentialsOf(CLIENT), client_secret: 'wrong' });

      // Assess
      expect(sim.identityCalls(CLIENT.clientId)).toBe(3);
      expect(sim.identityCalls(OTHER.clientId)).toBe(1);
      expect(sim.identityCalls()).toBe(4);
    });

    it('counts REST calls', async () => {
      // Act
      await callRest(sim, '/rest/v1/leads.json');
      await callRest(sim, '/rest/v1/leads.json');

      // Assess
      expect(sim.restCalls()).toBe(2);
    });

    it('remembers every token it ever issued, across resetCounters', async () => {
      // Prepare
      const first = await tokenOf(sim);
      now += 3_600_000;
      const second = await tokenOf(sim);

      // Act
      sim.resetCounters();

      // Assess
      expect(sim.issuedTokens()).toEqual([first.access_token, second.access_token]);
      expect(sim.identityCalls()).toBe(0);
      expect(sim.restCalls()).toBe(0);
      expect(sim.identityRequests()).toEqual([]);
    });
  });

  describe('fault knobs', () => {
    it('applies an Identity fault to the next N requests only', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'status', status: 503 }, 2);

      // Act
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await fetch(`${sim.identityUrl}/oauth/token`)).status);

      // Assess
      expect(statuses).toEqual([503, 503, 400]);
    });

    it('applies a fault targeted at one client only to that client', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'rate-limit' }, 1, { clientId: OTHER.clientId });

      // Act
      const mine = await askIdentity(sim, credentialsOf(CLIENT));
      const theirs = await askIdentity(sim, credentialsOf(OTHER));

      // Assess
      expect(mine.body.access_token).toEqual(expect.any(String));
      expect(theirs.body).toMatchObject({
        success: false,
        errors: [{ code: '606', message: "Max rate limit '100' exceeded with in '20' secs" }],
      });
    });

    it('serves an HTML error page with Retry-After when asked', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'status', status: 502, body: 'html', retryAfter: '7' });

      // Act
      const response = await fetch(`${sim.identityUrl}/oauth/token`);

      // Assess
      expect(response.status).toBe(502);
      expect(response.headers.get('content-type')).toBe('text/html');
      expect(response.headers.get('retry-after')).toBe('7');
      expect(await response.text()).toContain('<html>');
    });

    it('replaces expires_in on a real token, or leaves it out for null', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'expires-in', value: -5 });
      sim.injectIdentityFault({ kind: 'expires-in', value: null });

      // Act
      const negative = await tokenOf(sim);
      const missing = await tokenOf(sim);

      // Assess
      expect(negative.expires_in).toBe(-5);
      expect(missing).not.toHaveProperty('expires_in');
      expect(missing.access_token).toBe(negative.access_token);
    });

    it('delays an answer by the requested time', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'delay', ms: 150 });

      // Act
      const started = Date.now();
      await tokenOf(sim);

      // Assess
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    });

    it('adds the configured latency to every Identity answer', async () => {
      // Prepare
      sim.setLatency(100);

      // Act
      const started = Date.now();
      await tokenOf(sim);
      await tokenOf(sim);

      // Assess
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    });

    it('drops the connection without an answer', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'drop' });

      // Act
      const outcome = await fetch(`${sim.identityUrl}/oauth/token`).catch((error: unknown) => error);

      // Assess
      expect(outcome).toBeInstanceOf(TypeError);
    });

    it('resets the connection in the middle of the body', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'reset-mid-body' });

      // Act
      const response = await fetch(`${sim.identityUrl}/oauth/token`);
      const outcome = await response.text().catch((error: unknown) => error);

      // Assess
      expect(response.status).toBe(200);
      expect(outcome).toBeInstanceOf(Error);
    });

    it('clears pending faults', async () => {
      // Prepare
      sim.injectIdentityFault({ kind: 'malformed-json' }, 5);
      sim.forceRestError('601', 5);

      // Act
      sim.clearFaults();
      const body = await tokenOf(sim);
      const rest = await callRest(
        sim,
        '/rest/v1/leads.json?filterType=id&filterValues=1',
        body.access_token as string,
      );

      // Assess
      expect(rest.body.success).toBe(true);
    });
  });
});

describe('simulator-cli', () => {
  it('serves the demo client on the given port and exits cleanly on SIGINT', async () => {
    // Prepare
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/simulator-cli.ts', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = createInterface({ input: child.stdout });
    const identityUrl = await new Promise<string>((resolve, reject) => {
      lines.on('line', (line) => {
        const match = /Identity URL: (\S+)/.exec(line);
        if (match) resolve(match[1] as string);
      });
      child.once('exit', (code) => reject(new Error(`simulator-cli exited early with ${code}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    // Act
    const response = await fetch(`${identityUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...toParams(DEMO_CLIENT) }).toString(),
    });
    child.kill('SIGINT');

    // Assess
    expect(identityUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/identity$/);
    expect(response.status).toBe(200);
    expect(await exited).toBe(0);
  });

  it("says in one line whether Marketo's limits are on (the default) or off (--no-limits)", async () => {
    // Prepare
    const limitsLine = async (args: string[]): Promise<string> => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'local/simulator-cli.ts', '--port', '0', ...args],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const lines = createInterface({ input: child.stdout });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const line = await new Promise<string>((resolve, reject) => {
        lines.on('line', (l) => {
          if (l.startsWith('Limits:')) resolve(l);
        });
        child.once('exit', (code) => reject(new Error(`simulator-cli exited early with ${code}`)));
      });
      child.kill('SIGINT');
      await exited;
      return line;
    };

    // Act
    const [on, off] = [await limitsLine([]), await limitsLine(['--no-limits'])];

    // Assess
    expect(on).toBe(
      "Limits:       Marketo's on REST: 100 calls per 20 s (606), 10 at once (615), 50,000 a day (607); --no-limits turns them off",
    );
    expect(off).toBe('Limits:       off (--no-limits): every REST call is answered');
  });
});

const toParams = (client: { clientId: string; clientSecret: string }) => ({
  client_id: client.clientId,
  client_secret: client.clientSecret,
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('MarketoSimulator limits (per simulated instance)', () => {
  let now: number;
  let sim: MarketoSimulator;
  let token: string;

  const start = async (options: Parameters<typeof createMarketoSimulator>[0]) => {
    sim = createMarketoSimulator({ clients: [CLIENT], now: () => now, ...options });
    await sim.start();
    token = (await tokenOf(sim)).access_token as string;
  };
  const call = async () => (await callRest(sim, '/rest/v1/leads.json?batchSize=1', token)).body;

  beforeEach(() => {
    now = Date.UTC(2026, 11, 1, 20, 0, 0);
  });

  afterEach(async () => {
    registerSensitive(...sim.issuedTokens());
    await sim.stop();
  });

  it('answers the 101st call inside 20 s with 606 and Marketo’s message', async () => {
    await start({ limits: true });
    for (let i = 0; i < 100; i += 1) expect((await call()).success).toBe(true);

    expect(await call()).toMatchObject({
      success: false,
      errors: [{ code: '606', message: "Max rate limit '100' exceeded with in '20' secs" }],
    });
  });

  it('counts the rate over a rolling window, not fixed 20 s blocks', async () => {
    await start({ limits: { callsPerWindow: 2 } });
    await call();
    now += 15_000;
    await call();
    now += 5_000; // the first call has just left the window; the second is still in it

    expect((await call()).success).toBe(true);
    expect((await call()).success).toBe(false);
  });

  it('answers 615 with Marketo’s message when more calls are in flight than allowed', async () => {
    await start({ limits: { concurrentCalls: 2 }, restLatencyMs: 300 });

    const bodies = await Promise.all([call(), call(), call()]);

    expect(bodies.filter((b) => b.success === true)).toHaveLength(2);
    expect(bodies.find((b) => b.success === false)).toMatchObject({
      errors: [{ code: '615', message: 'Concurrent access limit reached' }],
    });
    expect(sim.limitCounters()).toMatchObject({ accepted: 2, refused615: 1, peakConcurrent: 2 });
  });

  it('answers 607 once the daily quota is used up, until 00:00 in Chicago', async () => {
    await start({ limits: { dailyQuota: 3 } });
    sim.spendDailyQuota(3);

    expect(await call()).toMatchObject({
      success: false,
      errors: [{ code: '607', message: 'Daily quota reached' }],
    });
    now = Date.UTC(2026, 11, 2, 6, 0, 0); // 00:00 CST
    token = (await tokenOf(sim)).access_token as string; // the old token expired overnight
    expect((await call()).success).toBe(true);
  });

  it('does not count refused calls against the window', async () => {
    await start({ limits: { callsPerWindow: 1 } });
    await call();
    for (let i = 0; i < 5; i += 1) await call();
    now += 20_000;

    expect((await call()).success).toBe(true);
    expect(sim.limitCounters()).toMatchObject({ accepted: 2, refused606: 5 });
  });

  it('enforces nothing unless limits are configured', async () => {
    await start({});
    for (let i = 0; i < 120; i += 1) await call();

    expect((await call()).success).toBe(true);
    expect(sim.limitCounters()).toBeUndefined();
  });
});
