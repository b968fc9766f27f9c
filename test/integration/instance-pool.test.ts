import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelemetry } from '../../functions/telemetry.js';
import { createVendHandler } from '../../functions/vend.js';
import { apiEvent, lambdaContext } from '../support/api-event.js';
import { type LoopbackWorld, startLoopbackWorld } from '../support/loopback-world.js';
import { VirtualClock } from '../support/virtual-clock.js';

const LIFESPAN_S = 60;
const STEP_MS = 500;

let world: LoopbackWorld<VirtualClock>;

beforeAll(async () => {
  // Virtual time over real sockets: time moves only when no Identity, store or secret call is in flight,
  // so the requests see the same order of events on a busy machine as on an idle one.
  world = await startLoopbackWorld({ lifespanSeconds: LIFESPAN_S, clock: new VirtualClock() });
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

describe('instance pools on the simulator (virtual clock)', () => {
  it('serves every request of five lifespans from a pool member with minValidity = lifespan/3 left, without waiting', async () => {
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
    const refresherLoop = (async () => {
      while (world.clock.now() < until) {
        await refresher.refreshAll({ horizonMs: 2_000 });
        await world.clock.sleep(1_000);
      }
    })();
    refresherLoop.catch(() => {});
    // Warm-up: the first sweep fetches the members it can without breaking the stagger.
    await world.clock.quiescent();
    const notServedAtOnce: string[] = [];
    let requests = 0;
    while (world.clock.now() < until) {
      for (const instance of ['pool2', 'pool3']) {
        const askedAt = world.clock.now();
        const result = (await world.clock.run(
          Promise.resolve(handler(instanceEvent(instance, LIFESPAN_S / 3), lambdaContext())),
        )) as APIGatewayProxyResult;
        requests += 1;
        const body = JSON.parse(result.body);
        const waitedMs = world.clock.now() - askedAt;
        if (result.statusCode !== 200 || body.expiresIn < LIFESPAN_S / 3 || waitedMs > 0)
          notServedAtOnce.push(
            `${askedAt - until}: ${instance} ${result.statusCode} after ${waitedMs} ms ${result.body}`,
          );
      }
      await world.clock.advance(STEP_MS);
    }
    await world.clock.run(refresherLoop);
    expect(notServedAtOnce).toEqual([]);
    expect(requests).toBe(2 * ((5 * LIFESPAN_S * 1000) / STEP_MS));
  }, 120_000);

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
