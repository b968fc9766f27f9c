import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { describe, expect, test as worldTest } from '../../testing/fixture.js';
import { until } from '../../testing/until.js';
import { routeEvent } from '../support/api-event.js';
import { type DynamoFaultProxy, startDynamoFaultProxy, type ThrottleType } from './dynamo-proxy.js';
import { apiCaller, closedPort, makeVendor, PausingIdentity } from './harness.js';

/**
 * `proxy`: a fault proxy in front of the world's dynalite; `proxiedStore(maxAttempts)`: a store whose
 * every request goes through it (`maxAttempts: 2` as the Lambdas use).
 */
const test = worldTest
  .extend('proxy', { scope: 'file' }, async ({ world }, { onCleanup }): Promise<DynamoFaultProxy> => {
    const proxy = await startDynamoFaultProxy(world.dynamo.endpoint);
    onCleanup(() => proxy.stop());
    return proxy;
  })
  .extend(
    'proxiedStore',
    { scope: 'file' },
    async ({ world, proxy }): Promise<(maxAttempts?: number) => DynamoTokenStore> =>
      (maxAttempts = 1) =>
        new DynamoTokenStore({ client: proxy.client({ maxAttempts }), tableName: world.tableName }),
  );

describe('DynamoDB endpoint down', () => {
  test('still serves a cold vend by calling Identity without the lease when nothing listens', async ({
    world,
    proxy,
  }) => {
    const clientId = world.newClient('store-fault');
    const unreachable = new DynamoTokenStore({
      client: proxy.client({ endpoint: `http://127.0.0.1:${await closedPort()}` }),
      tableName: world.tableName,
    });
    const answer = await apiCaller(makeVendor(world, { store: unreachable }))(
      routeEvent('token', { clientId }),
    );
    expect(answer.status).toBe(200);
    expect(world.simulator.identityCalls(clientId)).toBe(1);
  });

  test('serves the token held in memory with no Identity call when the store goes down', async ({
    world,
    proxy,
    proxiedStore,
  }) => {
    const clientId = world.newClient('store-fault');
    const vendor = makeVendor(world, { store: proxiedStore() });
    const first = await vendor.getToken(clientId);
    const callsAfterWarmUp = world.simulator.identityCalls(clientId);
    proxy.setDown(true);
    try {
      const answer = await apiCaller(vendor)(routeEvent('token', { clientId }));
      expect(answer.status).toBe(200);
      expect(answer.body.accessToken).toBe(first.accessToken);
    } finally {
      proxy.setDown(false);
    }
    expect(world.simulator.identityCalls(clientId) - callsAfterWarmUp).toBe(0);
  });

  test('gives a fresh instance the same valid token from Identity when the store goes down', async ({
    world,
    proxy,
    proxiedStore,
  }) => {
    const clientId = world.newClient('store-fault');
    const first = await makeVendor(world).getToken(clientId);
    proxy.setDown(true);
    try {
      const answer = await apiCaller(makeVendor(world, { store: proxiedStore() }))(
        routeEvent('token', { clientId }),
      );
      expect(answer.status).toBe(200);
      expect(answer.body.accessToken).toBe(first.accessToken);
    } finally {
      proxy.setDown(false);
    }
    expect((await world.store().get(clientId))?.token?.accessToken).toBe(first.accessToken);
  });
});

describe('DynamoDB throttling', () => {
  test.for<ThrottleType>(['ProvisionedThroughputExceededException', 'ThrottlingException'])(
    'rides out one %s with the SDK retry and stores the token under the lease',
    async (type, { world, proxy, proxiedStore }) => {
      const clientId = world.newClient('store-fault');
      const throttledBefore = proxy.throttled;
      proxy.throttleNext(1, type);
      const answer = await apiCaller(makeVendor(world, { store: proxiedStore(2) }))(
        routeEvent('token', { clientId }),
      );
      expect(answer.status).toBe(200);
      expect(proxy.throttled - throttledBefore).toBe(1);
      expect(world.simulator.identityCalls(clientId)).toBe(1);
      const record = await world.store().get(clientId);
      expect(record?.token?.accessToken).toBe(answer.body.accessToken);
      expect(record?.lease).toBeUndefined();
    },
  );

  test.for<ThrottleType>(['ProvisionedThroughputExceededException', 'ThrottlingException'])(
    'serves a cold vend from Identity and writes nothing while every request meets %s',
    async (type, { world, proxy, proxiedStore }) => {
      const clientId = world.newClient('store-fault');
      proxy.throttleNext(1_000, type);
      try {
        const answer = await apiCaller(makeVendor(world, { store: proxiedStore(2) }))(
          routeEvent('token', { clientId }),
        );
        expect(answer.status).toBe(200);
      } finally {
        proxy.throttleNext(0);
      }
      expect(world.simulator.identityCalls(clientId)).toBe(1);
      expect(await world.store().get(clientId)).toBeUndefined();
    },
  );
});

describe('DynamoDB conditional-check races', () => {
  test('lets exactly one of 12 instances racing on a missing item call Identity', async ({ world }) => {
    const clientId = world.newClient('store-fault');
    const vendors = Array.from({ length: 12 }, () => makeVendor(world));
    const tokens = await Promise.all(vendors.map((vendor) => vendor.getToken(clientId)));
    expect(world.simulator.identityCalls(clientId)).toBe(1);
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    expect(tokens.filter((t) => t.source === 'identity')).toHaveLength(1);
    const record = await world.store().get(clientId);
    expect(record?.version).toBe(2);
    expect(record?.lease).toBeUndefined();
  });

  test('drops the late write of a holder whose lease was taken over while it stalled', async ({ world }) => {
    const clientId = world.newClient('store-fault');
    const config = { leaseDurationMs: 400, defaultMaxWaitMs: 4_000 };
    const stalled = makeVendor(world, {
      config,
      identity: new PausingIdentity(1_200),
      instanceId: 'stalled',
    });
    const stalledToken = stalled.getToken(clientId, { maxWaitMs: 4_000 }).then(
      (token) => token,
      (error: unknown) => error,
    );
    // The successor starts once the stalled holder has the lease (an event, not a guessed 100 ms).
    await until(async () => (await world.store().get(clientId))?.lease?.owner === 'stalled');
    const successor = await makeVendor(world, { config, instanceId: 'successor' }).getToken(clientId, {
      maxWaitMs: 4_000,
    });
    const afterSuccessor = await world.store().get(clientId);
    expect(afterSuccessor?.token?.accessToken).toBe(successor.accessToken);
    expect(afterSuccessor?.lease).toBeUndefined();
    await stalledToken;
    const final = await world.store().get(clientId);
    expect(final?.version).toBe(afterSuccessor?.version);
    expect(final?.token).toEqual(afterSuccessor?.token);
    expect(world.simulator.identityCalls(clientId)).toBe(2);
  });
});

describe('DynamoDB item written by an older version', () => {
  test('treats an item missing token fields as no token, fetches once and rewrites it whole', async ({
    world,
  }) => {
    const clientId = world.newClient('store-fault');
    await world.dynamo.client.send(
      new PutItemCommand({
        TableName: world.tableName,
        Item: { clientId: { S: clientId }, accessToken: { S: 'legacy-token-without-expiry' } },
      }),
    );
    const answer = await apiCaller(makeVendor(world))(routeEvent('token', { clientId }));
    expect(answer.status).toBe(200);
    expect(answer.body.accessToken).not.toBe('legacy-token-without-expiry');
    expect(world.simulator.identityCalls(clientId)).toBe(1);
    const { Item } = await world.dynamo.client.send(
      new GetItemCommand({ TableName: world.tableName, Key: { clientId: { S: clientId } } }),
    );
    expect(Object.keys(Item ?? {})).toEqual(
      expect.arrayContaining(['version', 'accessToken', 'tokenType', 'expiresAt', 'obtainedAt', 'ttl']),
    );
    expect(Item?.accessToken?.S).toBe(answer.body.accessToken);
  });

  test('serves a complete older item without version or ttl, and invalidates it by compare-and-swap', async ({
    world,
  }) => {
    const clientId = world.newClient('store-fault');
    const current = await makeVendor(world).getToken(clientId);
    const now = world.clock.now();
    await world.dynamo.client.send(
      new PutItemCommand({
        TableName: world.tableName,
        Item: {
          clientId: { S: clientId },
          accessToken: { S: current.accessToken },
          tokenType: { S: 'bearer' },
          expiresAt: { N: String(current.expiresAt) },
          obtainedAt: { N: String(now) },
        },
      }),
    );
    const answer = await apiCaller(makeVendor(world))(routeEvent('token', { clientId }));
    expect(answer.status).toBe(200);
    expect(answer.body.accessToken).toBe(current.accessToken);
    world.simulator.revokeToken(clientId);
    const replaced = await makeVendor(world).invalidate(clientId, current.accessToken);
    expect(replaced.accessToken).not.toBe(current.accessToken);
    expect((await world.store().get(clientId))?.version).toBeGreaterThanOrEqual(2);
  });
});
