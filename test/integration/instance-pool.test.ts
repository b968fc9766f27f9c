import { TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { INSTANCE_TAG } from '../../functions/adapters/secrets-manager-credentials.js';
import { DEFAULT_SECRET_PREFIX } from '../../functions/contract/index.js';
import { createTelemetry } from '../../functions/telemetry.js';
import { createVendHandler } from '../../functions/vend.js';
import { describe, expect, test } from '../../testing/fixture.js';
import { lambdaContext, routeEvent } from '../support/api-event.js';

const LIFESPAN_S = 60;
/** One request per pool per virtual second: 600 requests over real sockets, none of them may wait. */
const STEP_MS = 1_000;

// Virtual time over real sockets: time moves only when no Identity, store or secret call is in flight,
// so the requests see the same order of events on a busy machine as on an idle one.
test.override('worldOptions', { lifespanSeconds: LIFESPAN_S });

const instanceEvent = (instance: string, minValidity: number) =>
  routeEvent('instance-token', { instance }, { query: { minValidity: String(minValidity) } });

describe('instance pools on the simulator (virtual clock)', () => {
  test('serves every request of five lifespans from a pool member with minValidity = lifespan/3 left, without waiting', {
    // Real work (600 vends over loopback sockets): about 10 s idle; the bound holds ten times slower.
    timeout: 300_000,
  }, async ({ virtualWorld: world }) => {
    for (const size of [2, 3]) {
      for (let i = 1; i <= size; i += 1)
        world.register(`pool${size}-member-${i}`, { instance: `pool${size}` });
    }
    const config = { tokenLifespanSeconds: LIFESPAN_S, poolMembershipCacheMs: 1_000 };
    const refresher = world.vendor({ config });
    const handler = createVendHandler({
      vendor: world.vendor({ config }),
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
        const result = (await world.clock.settle(
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
    await world.clock.settle(refresherLoop);
    expect(notServedAtOnce).toEqual([]);
    expect(requests).toBe(2 * ((5 * LIFESPAN_S * 1000) / STEP_MS));
  });

  test('names the member a pool token came from', async ({ virtualWorld: world }) => {
    world.register('named-1', { instance: 'named' });
    const handler = createVendHandler({ vendor: world.vendor(), telemetry: createTelemetry('pool-it') });
    const result = (await world.clock.settle(
      Promise.resolve(handler(instanceEvent('named', 10), lambdaContext())),
    )) as APIGatewayProxyResult;
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body).clientId).toBe('named-1');
  });

  test('answers 404 for an instance with no registered clients', async ({ virtualWorld: world }) => {
    const handler = createVendHandler({ vendor: world.vendor(), telemetry: createTelemetry('pool-it') });
    const result = (await world.clock.settle(
      Promise.resolve(handler(instanceEvent('no-such-instance', 10), lambdaContext())),
    )) as APIGatewayProxyResult;
    expect(result.statusCode).toBe(404);
    expect(JSON.parse(result.body).error.code).toBe('UnknownClient');
  });

  test('never vends a client tagged into a pool by someone who cannot write its secret (TagResource alone)', async ({
    virtualWorld: world,
  }) => {
    world.register('tagged-pool-1', { instance: 'tagged' });
    world.register('other-team-client');
    const vendor = world.vendor({ config: { poolMembershipCacheMs: 1_000 } });
    const handler = createVendHandler({ vendor, telemetry: createTelemetry('pool-it') });
    const ask = async () =>
      JSON.parse(
        (
          (await world.clock.settle(
            Promise.resolve(handler(instanceEvent('tagged', 10), lambdaContext())),
          )) as APIGatewayProxyResult
        ).body,
      ) as { clientId: string };
    expect((await ask()).clientId).toBe('tagged-pool-1');
    // The other team's token is then the freshest: a pool that trusted the tag would hand it out.
    await world.clock.advance(2_000);
    await world.clock.settle(vendor.getToken('other-team-client'));
    // What a principal with secretsmanager:TagResource on the other team's secret can do.
    await world.clients.secrets.send(
      new TagResourceCommand({
        SecretId: `${DEFAULT_SECRET_PREFIX}other-team-client`,
        Tags: [{ Key: INSTANCE_TAG, Value: 'tagged' }],
      }),
    );
    const served = new Set<string>();
    for (let i = 0; i < 3; i += 1) {
      await world.clock.advance(1_000);
      served.add((await ask()).clientId);
    }
    expect([...served]).toEqual(['tagged-pool-1']);
  });
});
