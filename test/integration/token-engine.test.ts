import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { coreLogger, createTelemetry } from '../../functions/telemetry.js';
import { createVendHandler } from '../../functions/vend.js';
import { describe, expect, test } from '../../testing/fixture.js';
import { startWorld, type World } from '../../testing/world.js';
import { lambdaContext, routeEvent } from '../support/api-event.js';

const HOUR_MS = 3_600_000;

const apiHandler = (world: World) => {
  const telemetry = createTelemetry('token-engine-it');
  const vendor = world.vendor({ logger: coreLogger(telemetry.logger) });
  const handler = createVendHandler({ vendor, telemetry });
  return async (event: ReturnType<typeof routeEvent>) => {
    const result = (await handler(event, lambdaContext())) as APIGatewayProxyResult;
    return { status: result.statusCode, body: JSON.parse(result.body), headers: result.headers ?? {} };
  };
};

// Each test has a world of its own (it moves the clock, injects faults for every client or counts every
// Identity call): they run side by side, and the sweep's real 8 s wait no longer adds to the others.
describe.concurrent('token engine on DynamoDB (dynalite), Secrets Manager (stub) and the Marketo simulator', () => {
  // First, so that its real wait starts with the others (at most five run at once).
  test('summarises a refresher sweep over 50 clients: missing, valid and expiring', {
    // Real work (60 Identity calls, a real 8 s wait): a few seconds idle; the bound holds ten times slower.
    timeout: 120_000,
  }, async () => {
    // A world of its own, not the fixture's: the test counts every Identity call its world has seen.
    const local = await startWorld();
    // Real sockets, so real time: an Identity attempt that outlives its timeout is retried and counted
    // twice; with every core busy a loopback call took over the default 5 s.
    const patient = () => local.vendor({ config: { identityTimeoutMs: 20_000, leaseDurationMs: 40_000 } });
    try {
      const ids = Array.from({ length: 50 }, (_, i) => `sweep-${String(i).padStart(2, '0')}`);
      for (const id of ids) local.register(id);
      // 10 fetched an hour ago minus 8 s (expiring within the horizon), 20 just now (valid), 20 missing.
      local.clock.offsetMs = -(HOUR_MS - 8_000);
      const expiring = await Promise.all(
        ids.slice(0, 10).map((id) => patient().getToken(id, { minValiditySeconds: 0 })),
      );
      local.clock.offsetMs = 0;
      await Promise.all(ids.slice(10, 30).map((id) => patient().getToken(id)));
      // The sweep starts 8 s before the first of the ten expires, however long the set-up took here.
      local.clock.offsetMs += Math.min(...expiring.map((t) => t.expiresAt)) - 8_000 - local.clock.now();
      const summary = await patient().refreshAll({ horizonMs: 60_000, concurrency: 8 });
      expect(summary).toMatchObject({ clients: 50, fetched: 20, waited: 10, valid: 20, failed: 0 });
      expect(local.simulator.identityCalls()).toBe(30 + 30);
      for (const id of ids) {
        const record = await local.store().get(id);
        expect(record?.token?.expiresAt ?? 0).toBeGreaterThan(local.clock.now() + 60_000);
      }
    } finally {
      await local.stop();
    }
  });

  test('fetches and stores a token on the first vend', async ({ ownWorld: world }) => {
    const clientId = world.newClient();
    const token = await world.vendor().getToken(clientId);
    expect(token.source).toBe('identity');
    const record = await world.store().get(clientId);
    expect(record?.token?.accessToken).toBe(token.accessToken);
    expect(record?.token?.requestedAt).toBeLessThanOrEqual(record?.token?.obtainedAt ?? 0);
    expect(record?.lease).toBeUndefined();
    expect(world.simulator.identityCalls(clientId)).toBe(1);
  });

  test('serves a fresh instance from the store with no Identity call', async ({ ownWorld: world }) => {
    const clientId = world.newClient();
    await world.vendor().getToken(clientId);
    const callsAfterWarmUp = world.simulator.identityCalls(clientId);
    const token = await world.vendor().getToken(clientId);
    expect(token.source).toBe('store');
    expect(world.simulator.identityCalls(clientId) - callsAfterWarmUp).toBe(0);
  });

  test('makes exactly 1 Identity call for 200 concurrent vends over 8 instances on an expired token', async ({
    ownWorld: world,
  }) => {
    const clientId = world.newClient();
    await world.vendor().getToken(clientId);
    world.clock.offsetMs = HOUR_MS + 1_000;
    world.simulator.setLatency(50);
    const vendors = Array.from({ length: 8 }, () => world.vendor());
    const tokens = await Promise.all(
      Array.from({ length: 200 }, (_, i) => vendors[i % vendors.length].getToken(clientId)),
    );
    world.simulator.setLatency(0);
    expect(world.simulator.identityCalls(clientId) - 1).toBe(1);
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    expect(Math.min(...tokens.map((t) => t.expiresInSeconds))).toBeGreaterThan(3500);
  });

  test('takes over after the lease of a crashed holder lapses, with one Identity call', async ({
    ownWorld: world,
  }) => {
    const clientId = world.newClient();
    const leaseUntil = world.clock.now() + 1_500;
    await world.store().acquireLease(clientId, undefined, { owner: 'crashed-lambda', leaseUntil }, 0);
    const token = await world
      .vendor({ config: { leaseDurationMs: 1_500 } })
      .getToken(clientId, { maxWaitMs: 10_000 });
    expect(token.source).toBe('identity');
    expect(world.clock.now()).toBeGreaterThanOrEqual(leaseUntil);
    expect(world.simulator.identityCalls(clientId)).toBe(1);
    expect((await world.store().get(clientId))?.lease).toBeUndefined();
  });

  test('waits out a near-expiry token and returns the next one', async ({ ownWorld: world }) => {
    const clientId = world.newClient();
    const first = await world.vendor().getToken(clientId);
    world.clock.offsetMs = first.expiresAt - Date.now() - 2_000;
    const next = await world.vendor({ config: { rotationGuardSeconds: 1 } }).getToken(clientId, {
      minValiditySeconds: 60,
      maxWaitMs: 10_000,
    });
    expect(next.accessToken).not.toBe(first.accessToken);
    expect(next.expiresInSeconds).toBeGreaterThan(3500);
    expect(world.simulator.identityCalls(clientId)).toBe(2);
  });

  test('makes 1 Identity call for 50 concurrent invalidations of the same dead token', async ({
    ownWorld: world,
  }) => {
    const clientId = world.newClient();
    const first = await world.vendor().getToken(clientId);
    world.simulator.revokeToken(clientId);
    const vendors = Array.from({ length: 5 }, () => world.vendor());
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        vendors[i % vendors.length].invalidate(clientId, first.accessToken),
      ),
    );
    expect(world.simulator.identityCalls(clientId)).toBe(2);
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
    expect(results[0].accessToken).not.toBe(first.accessToken);
  });

  test('re-reads the secret once on bad credentials, then answers 502 CredentialsRejected', async ({
    ownWorld: world,
  }) => {
    const clientId = world.newClient();
    world.simulator.setClientSecret(clientId, 'rotated-in-marketo-but-not-in-secrets-manager');
    world.secrets.resetCalls();
    const vend = apiHandler(world);
    const result = await vend(routeEvent('token', { clientId }));
    expect(result.status).toBe(502);
    expect(result.body).toEqual({ error: { code: 'CredentialsRejected', message: expect.any(String) } });
    expect(world.secrets.calls('GetSecretValue')).toBe(2);
    expect(world.simulator.identityCalls(clientId)).toBe(2);
  });

  test('serves a valid cached token while Identity is down', async ({ ownWorld: world }) => {
    const clientId = world.newClient();
    await world.vendor().getToken(clientId);
    world.simulator.injectIdentityFault({ kind: 'status', status: 503 }, 100);
    const vend = apiHandler(world);
    const result = await vend(routeEvent('token', { clientId }));
    expect(result.status).toBe(200);
    expect(world.simulator.identityCalls(clientId)).toBe(1);
  });

  test('answers 404 UnknownClient for a client with no secret', async ({ ownWorld: world }) => {
    const result = await apiHandler(world)(routeEvent('token', { clientId: 'never-registered' }));
    expect(result.status).toBe(404);
    expect(result.body.error.code).toBe('UnknownClient');
  });

  test('writes no item to DynamoDB for vends and invalidations of unregistered client ids', async ({
    ownWorld: world,
  }) => {
    const ids = Array.from({ length: 5 }, (_, i) => `bogus-${randomUUID()}-${i}`);
    const vend = apiHandler(world);
    for (const clientId of ids) expect((await vend(routeEvent('token', { clientId }))).status).toBe(404);
    await expect(world.vendor().invalidate(ids[0], 'some-token:ab')).rejects.toMatchObject({
      code: 'UnknownClient',
    });
    for (const clientId of ids) expect(await world.store().get(clientId)).toBeUndefined();
  });

  test('makes 1 Identity call for 30 invalidations in a row of a token Marketo still accepts', async ({
    ownWorld: world,
  }) => {
    const clientId = world.newClient();
    const first = await world.vendor().getToken(clientId);
    for (let i = 0; i < 30; i += 1) {
      const result = await world.vendor().invalidate(clientId, first.accessToken);
      expect(result.accessToken).toBe(first.accessToken);
    }
    expect(world.simulator.identityCalls(clientId) - 1).toBe(1);
    expect((await world.store().get(clientId))?.token?.reconfirmedAt).toEqual(expect.any(Number));
  });

  test.for([
    ['a malformed client id', routeEvent('token', { clientId: 'bad id!' })],
    [
      'a malformed minValidity',
      routeEvent('token', { clientId: 'client-x' }, { query: { minValidity: '-5' } }),
    ],
    [
      'a minValidity beyond a token lifetime',
      routeEvent('token', { clientId: 'client-x' }, { query: { minValidity: '4000' } }),
    ],
  ] as const)('answers 400 InvalidRequest for %s', async ([, event], { ownWorld: world }) => {
    const result = await apiHandler(world)(event);
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe('InvalidRequest');
  });
});
