import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelemetry } from '../../functions/telemetry.js';
import { createVendHandler } from '../../functions/vend.js';
import { apiEvent, lambdaContext } from '../support/api-event.js';
import { type LoopbackWorld, startLoopbackWorld } from '../support/loopback-world.js';

const LIFESPAN_S = 60;
/** Virtual time runs 20x faster: five 60 s lifespans take 15 s. */
const SPEED = 20;

let world: LoopbackWorld;

beforeAll(async () => {
  world = await startLoopbackWorld({ lifespanSeconds: LIFESPAN_S, speed: SPEED });
});

afterAll(async () => {
  await world.stop();
});

const instanceEvent = (instance: string, minValidity: number) =>
  apiEvent({
    method: 'GET',
    resource: '/instances/{instance}/token',
    path: `/instances/${instance}/token`,
    pathParameters: { instance },
    query: { minValidity: String(minValidity) },
  });

describe('instance pools on the simulator (accelerated clock)', () => {
  it('serves minValidity = lifespan/3 from pools of 2 and 3 without waiting over five lifespans', async () => {
    for (const size of [2, 3]) {
      for (let i = 1; i <= size; i += 1)
        world.registerClient(`pool${size}-member-${i}`, { instance: `pool${size}` });
    }
    const config = { tokenLifespanSeconds: LIFESPAN_S, poolMembershipCacheMs: 1_000 };
    const refresher = world.vendor(config);
    const handler = createVendHandler({
      vendor: world.vendor(config),
      telemetry: createTelemetry('pool-it'),
    });
    const until = world.clock.now() + 5 * LIFESPAN_S * 1000;
    const results = { served: 0, failed: [] as string[] };
    const refresherLoop = (async () => {
      while (world.clock.now() < until) {
        await refresher.refreshAll({ horizonMs: 2_000 });
        await world.clock.sleep(1_000);
      }
    })();
    while (world.clock.now() < until) {
      for (const instance of ['pool2', 'pool3']) {
        const result = (await handler(
          instanceEvent(instance, LIFESPAN_S / 3),
          lambdaContext(),
        )) as APIGatewayProxyResult;
        const body = JSON.parse(result.body);
        if (result.statusCode === 200 && body.expiresIn >= LIFESPAN_S / 3) results.served += 1;
        else results.failed.push(`${instance}: ${result.statusCode} ${result.body}`);
      }
      await world.clock.sleep(500);
    }
    await refresherLoop;
    expect(results.failed).toEqual([]);
    expect(results.served).toBeGreaterThan(500);
  }, 60_000);

  it('names the member a pool token came from', async () => {
    world.registerClient('named-1', { instance: 'named' });
    const handler = createVendHandler({ vendor: world.vendor(), telemetry: createTelemetry('pool-it') });
    const result = (await handler(instanceEvent('named', 10), lambdaContext())) as APIGatewayProxyResult;
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body).clientId).toBe('named-1');
  });

  it('answers 404 for an instance with no registered clients', async () => {
    const handler = createVendHandler({ vendor: world.vendor(), telemetry: createTelemetry('pool-it') });
    const result = (await handler(
      instanceEvent('no-such-instance', 10),
      lambdaContext(),
    )) as APIGatewayProxyResult;
    expect(result.statusCode).toBe(404);
    expect(JSON.parse(result.body).error.code).toBe('UnknownClient');
  });
});
