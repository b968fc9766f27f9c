import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MemoryBudgetStore } from '../../functions/adapters/memory-budget-store.js';
import { createInstanceBudget } from '../../functions/core/budget/index.js';
import { systemClock } from '../../functions/core/clock.js';
import { createTokenVendor } from '../../functions/core/token-vendor.js';
import { createPermitService } from '../../functions/http/permit-request.js';
import { createTelemetry } from '../../functions/telemetry.js';
import { createVendHandler } from '../../functions/vend.js';
import { FakeClock } from '../../testing/clocks.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../../testing/fake-identity.js';
import { MemoryTokenStore } from '../../testing/memory-token-store.js';
import { lambdaContext, routeEvent } from '../support/api-event.js';

const START = Date.UTC(2026, 11, 1, 20, 0, 0);

const world = (limits = {}) => {
  const clock = new FakeClock(START);
  const store = new MemoryBudgetStore();
  const credentials = new MemoryCredentials([
    { ...testCredentials('sync-job'), restUrl: 'https://123-abc-456.mktorest.com', instance: 'acme' },
    { ...testCredentials('webhooks'), instance: 'acme' },
    { ...testCredentials('other'), identityUrl: 'https://999-XYZ-999.mktorest.com/identity' },
  ]);
  const budget = createInstanceBudget({ store, clock, random: () => 0 }, { limits: { default: limits } });
  const vendor = createTokenVendor({
    store: new MemoryTokenStore(),
    credentials,
    identity: new FakeIdentity(clock),
  });
  // The vend Lambda's handler: the permit routes are dispatched and their failures mapped like every route's.
  const handler = createVendHandler({
    vendor,
    telemetry: createTelemetry('budget-api-test'),
    permits: createPermitService({ budget, credentials }),
  });
  const send = async (event: APIGatewayProxyEvent) => {
    const response = (await handler(event, lambdaContext())) as APIGatewayProxyResult;
    return { ...response, json: JSON.parse(response.body) as Record<string, unknown> };
  };
  return { clock, store, send };
};

const acquire = (clientId: string, body: object = {}) => routeEvent('permit', { clientId }, { body });

const release = (clientId: string, body: object) => routeEvent('permit-release', { clientId }, { body });

describe('permit API', () => {
  it('grants a permit with its instance, lease, use-by time and the usage it leaves', async () => {
    const { send } = world();

    const response = await send(acquire('sync-job'));

    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({ 'Cache-Control': 'no-store' });
    expect(response.json).toMatchObject({
      instance: '123-abc-456.mktorest.com',
      count: 1,
      useByMs: 750,
      leaseExpiresAt: '2026-12-01T20:00:15.000Z',
      unmetered: false,
      usage: { windowCalls: 1, inFlight: 1, dailyUsed: 1, dailyQuota: 50_000 },
      dailyQuotaResetsAt: '2026-12-02T06:00:00.000Z',
    });
  });

  it('makes two clients of one instance share its budget', async () => {
    const { send } = world({ callsPerWindow: 2 });
    await send(acquire('sync-job', { concurrency: false }));
    await send(acquire('webhooks', { concurrency: false }));

    const third = await send(acquire('webhooks', { concurrency: false }));
    const elsewhere = await send(acquire('other', { concurrency: false }));

    expect(third.statusCode).toBe(429);
    expect(elsewhere.statusCode).toBe(200);
  });

  it('answers 429 PermitUnavailable with Retry-After and the exact wait in ms', async () => {
    const { send } = world({ callsPerWindow: 1 });
    await send(acquire('sync-job'));

    const response = await send(acquire('sync-job'));

    expect(response.statusCode).toBe(429);
    expect(response.headers).toEqual({
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      'Retry-After': '22',
    });
    expect(response.body).toBe(
      '{"error":{"code":"PermitUnavailable","message":"the instance\'s rate window is full: retry in 21300 ms","retryAfterMs":21300,"reason":"rate"}}',
    );
  });

  it('answers 429 DailyQuotaExhausted with the reset time once the quota is used', async () => {
    const { send } = world({ dailyQuota: 1 });
    await send(acquire('sync-job'));

    const response = await send(acquire('sync-job'));

    expect(response.statusCode).toBe(429);
    expect(response.headers).toMatchObject({ 'Retry-After': String(10 * 3600) });
    expect(response.json).toMatchObject({ error: { code: 'DailyQuotaExhausted' } });
  });

  it('releases a permit so its concurrency slot serves the next caller', async () => {
    const { send } = world({ concurrentCalls: 1 });
    const first = await send(acquire('sync-job'));

    const released = await send(release('sync-job', { permitId: first.json.permitId }));
    const next = await send(acquire('sync-job'));

    expect(released.json).toEqual({ released: true });
    expect(next.statusCode).toBe(200);
  });

  it('slows the instance down when a consumer reports a 606 on release', async () => {
    const { send } = world({ callsPerWindow: 4 });
    const first = await send(acquire('sync-job'));
    await send(release('sync-job', { permitId: first.json.permitId, marketoError: '606' }));
    await send(acquire('sync-job', { concurrency: false, count: 2 }));

    const response = await send(acquire('sync-job', { concurrency: false }));

    expect(response.json).toMatchObject({ error: { code: 'PermitUnavailable', reason: 'rate' } });
  });

  it('serves a pool instance by name through one of its members', async () => {
    const { send } = world();

    const response = await send(routeEvent('instance-permit', { instance: 'acme' }));

    expect(response.json).toMatchObject({ instance: '123-abc-456.mktorest.com' });
  });

  it.each([
    [{ count: 0 }, 'count must be a whole number from 1 to 10'],
    [{ count: '2' }, 'count must be a whole number'],
    [{ release: 'not-a-permit' }, 'release must be a permit id this API returned'],
    [{ marketoError: '601' }, 'marketoError must be "606", "607" or "615"'],
    [{ surprise: 1 }, 'unknown field "surprise"'],
  ])('refuses the bad body %j with 400 InvalidRequest', async (body, message) => {
    const { send } = world();

    const response = await send(acquire('sync-job', body));

    expect(response.statusCode).toBe(400);
    expect(response.json).toEqual({ error: { code: 'InvalidRequest', message } });
  });

  it('answers 404 UnknownClient for a client nobody registered', async () => {
    const { send } = world();

    const response = await send(acquire('nobody'));

    expect(response.statusCode).toBe(404);
  });
});

describe('permit routes in the vend Lambda', () => {
  it('serves a permit through the vend handler, and a 404 when the budget is not wired', async () => {
    const telemetry = createTelemetry('budget-api-test');
    const record = testCredentials('sync-job');
    const credentials = new MemoryCredentials([record]);
    const vendor = createTokenVendor({
      store: new MemoryTokenStore(),
      credentials,
      identity: new FakeIdentity(systemClock, [record]),
    });
    const budget = createInstanceBudget({ store: new MemoryBudgetStore(), clock: systemClock });
    const withBudget = createVendHandler({
      vendor,
      telemetry,
      permits: createPermitService({ budget, credentials }),
    });
    const without = createVendHandler({ vendor, telemetry });

    const granted = (await withBudget(acquire('sync-job'), lambdaContext())) as APIGatewayProxyResult;
    const missing = (await without(acquire('sync-job'), lambdaContext())) as APIGatewayProxyResult;

    expect(granted.statusCode).toBe(200);
    expect(JSON.parse(granted.body)).toMatchObject({ instance: '123-abc-456.mktorest.com', count: 1 });
    expect(missing.statusCode).toBe(404);
  });
});
