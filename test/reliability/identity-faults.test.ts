import { randomUUID } from 'node:crypto';
import type { TokenVendorConfig } from '../../functions/core/index.js';
import type { IdentityFault } from '../../local/simulator/identity.js';
import { describe, expect, test } from '../../testing/fixture.js';
import { registerSensitive } from '../../testing/leak-scan.js';
import type { World } from '../../testing/world.js';
import { routeEvent } from '../support/api-event.js';
import {
  apiCaller,
  BUDGET_MARGIN_MS,
  CALLER_BUDGET_MS,
  captureError,
  closedPort,
  makeVendor,
  SleepRecordingClock,
} from './harness.js';

/** Identity attempts one refresh may make (the engine's cap). */
const MAX_IDENTITY_ATTEMPTS = 4;
/** The caller's budget in the API rows (the handler's maximum wait). */
const BUDGET_MS = CALLER_BUDGET_MS;
/** The token the simulator starts to send before resetting the connection: Marketo never issued it. */
const PARTIAL_TOKEN = '00000000-0000-0000-0000-000000000000:sim';

/** A cold vend (nothing cached anywhere) while Identity misbehaves as `fault` for `times` calls. */
async function coldVend(
  world: World,
  fault: IdentityFault | undefined,
  times = 100,
  config: Partial<TokenVendorConfig> = {},
) {
  const clientId = world.newClient('identity-fault');
  if (fault) world.simulator.injectIdentityFault(fault, times, { clientId });
  const answer = await apiCaller(makeVendor(world, { config }), BUDGET_MS)(routeEvent('token', { clientId }));
  const record = await world.store().get(clientId);
  return { clientId, answer, record, identityCalls: world.simulator.identityCalls(clientId) };
}

describe.concurrent('Identity faults on a cold vend (no valid token anywhere)', () => {
  test('answers 503 IdentityUnavailable within the budget when Identity never answers (timeout)', async ({
    world,
  }) => {
    const { answer, record, identityCalls } = await coldVend(world, { kind: 'hang' });
    expect(answer.status).toBe(503);
    expect(answer.body.error?.code).toBe('IdentityUnavailable');
    expect(answer.body.error?.message).toMatch(/Identity|wait budget/);
    expect(answer.headers['Retry-After']).toMatch(/^\d+$/);
    expect(answer.elapsedMs).toBeLessThanOrEqual(BUDGET_MS + BUDGET_MARGIN_MS);
    expect(identityCalls).toBeGreaterThanOrEqual(1);
    expect(identityCalls).toBeLessThanOrEqual(MAX_IDENTITY_ATTEMPTS);
    expect(record?.token).toBeUndefined();
    expect(record?.lease).toBeUndefined();
    expect(record?.lastError?.code).toBe('IdentityUnavailable');
  });

  test('answers 503 IdentityUnavailable naming the refused connection when Identity is down', async ({
    world,
  }) => {
    const clientId = `identity-refused-${randomUUID()}`;
    const secret = `refused-secret-${randomUUID()}`;
    registerSensitive(secret);
    world.secrets.putClientSecret({
      clientId,
      clientSecret: secret,
      identityUrl: `http://127.0.0.1:${await closedPort()}/identity`,
    });
    const answer = await apiCaller(makeVendor(world), BUDGET_MS)(routeEvent('token', { clientId }));
    expect(answer.status).toBe(503);
    expect(answer.body.error).toEqual({ code: 'IdentityUnavailable', message: expect.any(String) });
    expect(answer.body.error?.message).toMatch(/refused the connection|wait budget/);
    expect(answer.elapsedMs).toBeLessThanOrEqual(BUDGET_MS + BUDGET_MARGIN_MS);
    expect((await world.store().get(clientId))?.token).toBeUndefined();
  });

  test('retries a connection reset mid-body and never stores the half-sent token', async ({ world }) => {
    const { answer, record, identityCalls } = await coldVend(world, { kind: 'reset-mid-body' }, 1);
    expect(answer.status).toBe(200);
    expect(answer.body.accessToken).not.toBe(PARTIAL_TOKEN);
    expect(identityCalls).toBe(2);
    expect(record?.token?.accessToken).toBe(answer.body.accessToken);
  });

  test('answers 503 IdentityUnavailable when every answer is a connection reset mid-body', async ({
    world,
  }) => {
    const { answer, record, identityCalls } = await coldVend(world, { kind: 'reset-mid-body' });
    expect(answer.status).toBe(503);
    expect(answer.body.error?.code).toBe('IdentityUnavailable');
    expect(identityCalls).toBeLessThanOrEqual(MAX_IDENTITY_ATTEMPTS);
    expect(record?.token).toBeUndefined();
  });

  test.for([500, 502, 503])(
    'answers 503 IdentityUnavailable with bounded retries on HTTP %i',
    async (status, { world }) => {
      const { answer, record, identityCalls } = await coldVend(world, { kind: 'status', status });
      expect(answer.status).toBe(503);
      expect(answer.body.error?.code).toBe('IdentityUnavailable');
      expect(answer.headers['Retry-After']).toMatch(/^\d+$/);
      expect(answer.body.error?.message).toContain(`HTTP ${status}`);
      expect(answer.elapsedMs).toBeLessThanOrEqual(BUDGET_MS + BUDGET_MARGIN_MS);
      expect(identityCalls).toBeGreaterThanOrEqual(2);
      expect(identityCalls).toBeLessThanOrEqual(MAX_IDENTITY_ATTEMPTS);
      expect(record?.token).toBeUndefined();
      expect(record?.lastError?.code).toBe('IdentityUnavailable');
    },
  );

  test('recovers with one retry from a single HTTP 502 with an HTML body', async ({ world }) => {
    const { answer, identityCalls } = await coldVend(world, { kind: 'status', status: 502, body: 'html' }, 1);
    expect(answer.status).toBe(200);
    expect(identityCalls).toBe(2);
  });

  test('gives up at once, passing Retry-After on, when Identity asks for a wait beyond the budget', async ({
    world,
  }) => {
    const clientId = world.newClient('identity-fault');
    world.simulator.injectIdentityFault({ kind: 'status', status: 503, retryAfter: '30' }, 100, { clientId });
    const clock = new SleepRecordingClock(world.clock);
    const answer = await apiCaller(
      makeVendor(world, { clock }),
      BUDGET_MS,
    )(routeEvent('token', { clientId }));
    expect(answer.status).toBe(503);
    expect(answer.headers['Retry-After']).toBe('30');
    expect(clock.completedSleepsMs).toEqual([]);
    expect(world.simulator.identityCalls(clientId)).toBe(1);
  });

  test('answers 502 IdentityBadResponse and stores nothing on HTTP 200 with malformed JSON', async ({
    world,
  }) => {
    const { answer, record, identityCalls } = await coldVend(world, { kind: 'malformed-json' });
    expect(answer.status).toBe(502);
    expect(answer.body.error?.code).toBe('IdentityBadResponse');
    expect(answer.body.error?.message).toMatch(/not JSON/);
    expect(identityCalls).toBeLessThanOrEqual(MAX_IDENTITY_ATTEMPTS);
    expect(record?.token).toBeUndefined();
    expect(record?.lastError?.code).toBe('IdentityBadResponse');
  });

  test('answers 502 IdentityBadResponse and stores nothing on HTTP 200 without access_token', async ({
    world,
  }) => {
    const { answer, record } = await coldVend(world, { kind: 'no-access-token' });
    expect(answer.status).toBe(502);
    expect(answer.body.error?.code).toBe('IdentityBadResponse');
    expect(answer.body.error?.message).toMatch(/without an access_token/);
    expect(record?.token).toBeUndefined();
  });

  test.for([
    ['missing', null],
    ['negative', -5],
  ] as const)(
    'answers 502 IdentityBadResponse and stores nothing when expires_in is %s',
    async ([, value], { world }) => {
      const { answer, record } = await coldVend(world, { kind: 'expires-in', value });
      expect(answer.status).toBe(502);
      expect(answer.body.error?.code).toBe('IdentityBadResponse');
      expect(answer.body.error?.message).toMatch(/expires_in/);
      expect(record?.token).toBeUndefined();
    },
  );

  test('answers 503 TokenRotating and caches nothing while Identity keeps answering expires_in 0', async ({
    world,
  }) => {
    // No re-ask may time out on its own (a busy machine once took over the 1 s Identity timeout, which is
    // an Identity failure): only the budget ends the wait, so the answer is TokenRotating at any speed.
    const { answer, record } = await coldVend(world, { kind: 'expires-in', value: 0 }, 100, {
      identityTimeoutMs: CALLER_BUDGET_MS,
    });
    expect(answer.status).toBe(503);
    expect(answer.body.error?.code).toBe('TokenRotating');
    expect(answer.headers['Retry-After']).toMatch(/^\d+$/);
    expect(answer.elapsedMs).toBeLessThanOrEqual(BUDGET_MS + BUDGET_MARGIN_MS);
    expect(record?.token).toBeUndefined();
  });

  test('asks again after a single expires_in 0 and serves the token with its real lifetime', async ({
    world,
  }) => {
    const { answer, record, identityCalls } = await coldVend(world, { kind: 'expires-in', value: 0 }, 1);
    expect(answer.status).toBe(200);
    expect(answer.body.expiresIn).toBeGreaterThan(3_500);
    expect(identityCalls).toBe(2);
    expect(record?.token?.expiresAt).toBeGreaterThan(world.clock.now() + 3_500_000);
  });

  test('answers 502 CredentialsRejected after re-reading the secret once on HTTP 401', async ({ world }) => {
    const clientId = world.newClient('identity-fault');
    world.simulator.setClientSecret(clientId, `changed-in-marketo-only-${randomUUID()}`);
    const answer = await apiCaller(makeVendor(world), BUDGET_MS)(routeEvent('token', { clientId }));
    expect(answer.status).toBe(502);
    expect(answer.body.error?.code).toBe('CredentialsRejected');
    expect(answer.body.error?.message).toMatch(/rejected the credentials.*HTTP 401/);
    expect(world.simulator.identityCalls(clientId)).toBe(2);
    const record = await world.store().get(clientId);
    expect(record?.token).toBeUndefined();
    expect(record?.lastError?.code).toBe('CredentialsRejected');
  });

  test.for([
    ['606', 20],
    ['615', 5],
  ] as const)(
    'answers 503 after one call on Marketo rate limit %s, with Retry-After %s s',
    async ([code, retryAfter], { world }) => {
      const { answer, identityCalls } = await coldVend(world, { kind: 'rate-limit', code });
      expect(answer.status).toBe(503);
      expect(answer.body.error?.code).toBe('IdentityUnavailable');
      expect(answer.body.error?.message).toContain(`Marketo error ${code}`);
      expect(answer.headers['Retry-After']).toBe(String(retryAfter));
      expect(identityCalls).toBe(1);
    },
  );

  test('answers 503 with Retry-After until the daily quota resets on Marketo error 607', async ({
    world,
  }) => {
    const { answer, identityCalls } = await coldVend(world, { kind: 'rate-limit', code: '607' });
    expect(answer.status).toBe(503);
    expect(answer.headers['Retry-After']).toMatch(/^\d+$/);
    expect(Number(answer.headers['Retry-After'])).toBeGreaterThan(0);
    expect(Number(answer.headers['Retry-After'])).toBeLessThanOrEqual(86_400);
    expect(identityCalls).toBe(1);
  });

  test('answers 503 IdentityUnavailable with bounded retries on HTTP 429 without Retry-After', async ({
    world,
  }) => {
    const { answer, identityCalls } = await coldVend(world, { kind: 'status', status: 429 });
    expect(answer.status).toBe(503);
    expect(answer.headers['Retry-After']).toMatch(/^\d+$/);
    expect(answer.body.error?.code).toBe('IdentityUnavailable');
    expect(answer.elapsedMs).toBeLessThanOrEqual(BUDGET_MS + BUDGET_MARGIN_MS);
    expect(identityCalls).toBeLessThanOrEqual(MAX_IDENTITY_ATTEMPTS);
  });

  test('answers 503 at the caller budget when Identity is slower, then serves its token without a new call', async ({
    world,
  }) => {
    const clientId = world.newClient('identity-fault');
    world.simulator.injectIdentityFault({ kind: 'delay', ms: 1_500 }, 1, { clientId });
    const vendor = makeVendor(world, { config: { identityTimeoutMs: 3_000, leaseDurationMs: 5_000 } });
    const impatient = await apiCaller(
      vendor,
      BUDGET_MS,
    )(routeEvent('token', { clientId }, { query: { maxWaitSeconds: '1' } }));
    // Read before any other await: the answer came at the 1 s budget, before Identity (1.5 s) issued a token.
    const issuedWhenAnswered = world.simulator.currentToken(clientId);
    expect(impatient.status).toBe(503);
    expect(impatient.body.error?.code).toBe('IdentityUnavailable');
    expect(issuedWhenAnswered).toBeUndefined();
    const callsOfTheImpatient = world.simulator.identityCalls(clientId);
    const patient = await apiCaller(makeVendor(world), BUDGET_MS)(routeEvent('token', { clientId }));
    expect(patient.status).toBe(200);
    expect(callsOfTheImpatient).toBe(1);
    expect(world.simulator.identityCalls(clientId) - callsOfTheImpatient).toBe(0);
  });
});

/** Every Identity fault, met by a refresh while a valid token is stored (a consumer reported it as dead). */
const WARM_FAULTS: ReadonlyArray<readonly [string, IdentityFault]> = [
  ['a timeout', { kind: 'hang' }],
  ['a connection reset mid-body', { kind: 'reset-mid-body' }],
  ['HTTP 500', { kind: 'status', status: 500 }],
  ['HTTP 502', { kind: 'status', status: 502, body: 'html' }],
  ['HTTP 503', { kind: 'status', status: 503 }],
  ['HTTP 200 with malformed JSON', { kind: 'malformed-json' }],
  ['HTTP 200 without access_token', { kind: 'no-access-token' }],
  ['expires_in missing', { kind: 'expires-in', value: null }],
  ['expires_in 0', { kind: 'expires-in', value: 0 }],
  ['expires_in negative', { kind: 'expires-in', value: -1 }],
  ['Marketo rate limit 606', { kind: 'rate-limit', code: '606' }],
  ['a very slow answer', { kind: 'delay', ms: 5_000 }],
];

describe.concurrent('Identity faults while a valid token is stored', () => {
  test.for(WARM_FAULTS)(
    'keeps and keeps serving the stored token when a refresh meets %s',
    async ([, fault], { world }) => {
      const clientId = world.newClient('identity-fault');
      const first = await makeVendor(world).getToken(clientId);
      const before = await world.store().get(clientId);
      world.simulator.injectIdentityFault(fault, 100, { clientId });
      const error = await captureError(() => makeVendor(world).invalidate(clientId, first.accessToken));
      expect(error.name).toMatch(/^(IdentityUnavailable|IdentityBadResponse|TokenRotating)$/);
      const after = await world.store().get(clientId);
      expect(after?.token).toEqual(before?.token);
      expect(after?.lease).toBeUndefined();
      expect(after?.lastError?.code).toBe(error.name);
      const answer = await apiCaller(makeVendor(world), BUDGET_MS)(routeEvent('token', { clientId }));
      expect(answer.status).toBe(200);
      expect(answer.body.accessToken).toBe(first.accessToken);
    },
  );

  test('keeps and keeps serving the stored token when a refresh meets HTTP 401', async ({ world }) => {
    const clientId = world.newClient('identity-fault');
    const first = await makeVendor(world).getToken(clientId);
    world.simulator.setClientSecret(clientId, `changed-in-marketo-only-${randomUUID()}`);
    const error = await captureError(() => makeVendor(world).invalidate(clientId, first.accessToken));
    expect(error.name).toBe('CredentialsRejected');
    expect((await world.store().get(clientId))?.token?.accessToken).toBe(first.accessToken);
    const answer = await apiCaller(makeVendor(world), BUDGET_MS)(routeEvent('token', { clientId }));
    expect(answer.status).toBe(200);
    expect(answer.body.accessToken).toBe(first.accessToken);
  });
});
