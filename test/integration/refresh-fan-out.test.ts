import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoRefreshIndex } from '../../functions/adapters/dynamo-refresh-index.js';
import { SecretsManagerCredentials } from '../../functions/adapters/secrets-manager-credentials.js';
import { SqsBatchDispatcher } from '../../functions/adapters/sqs-batch-dispatcher.js';
import {
  REFRESH_DELIVERY_LEAD_MS,
  REFRESH_OVERDUE_AFTER_SECONDS,
  REFRESH_PLAN_MARGIN_SECONDS,
  REFRESH_RECONCILE_MINUTES,
} from '../../functions/contract/index.js';
import { type RefreshPlanSummary, runRefreshPlan } from '../../functions/core/refresh-planner.js';
import { createRefreshHandler } from '../../functions/refresh.js';
import { createTelemetry } from '../../functions/telemetry.js';
import type { VirtualClock } from '../../testing/clocks.js';
import { describe, expect, test as worldTest } from '../../testing/fixture.js';
import { type SqsStub, startSqsStub } from '../../testing/sqs-stub.js';
import { LOOPBACK_VENDOR_CONFIG, type World } from '../../testing/world.js';
import { lambdaContext } from '../support/api-event.js';

const CLIENTS = 24;

/** `fanWorld`: the world with the file's clients registered; `sqs`: the loopback SQS stub. */
const test = worldTest
  .extend('fanWorld', { scope: 'file' }, async ({ virtualWorld: world }): Promise<World<VirtualClock>> => {
    // 24 clients, 5 batches of 5: the fan-out's shape at a tenth of the work, so the test's real-time
    // timeout holds on a busy machine (240 clients took 10 s idle and over 30 s with every core busy).
    for (let i = 0; i < CLIENTS; i += 1) world.register(`fan-${String(i).padStart(3, '0')}`);
    return world;
  })
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern.
  .extend('sqs', { scope: 'file' }, async ({}, { onCleanup }): Promise<SqsStub> => {
    const sqs = await startSqsStub();
    onCleanup(() => sqs.stop());
    return sqs;
  });

const sqsEvent = (bodies: readonly string[]): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m-${i}`,
    receiptHandle: `r-${i}`,
    body,
    attributes: {} as SQSEvent['Records'][number]['attributes'],
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:refresh',
    awsRegion: 'us-east-1',
  })),
});

/**
 * Real sockets, so real time: an Identity attempt that outlives its timeout is retried, and the simulator
 * counts both calls. With every core busy a loopback call took over the default 5 s; "every client once"
 * needs a timeout no loaded machine reaches (and a lease outliving it).
 */
const PATIENT = { identityTimeoutMs: 20_000, leaseDurationMs: 40_000 };

/** The planner of a deployment on the world's table and the SQS stub (the contract's settings). */
const planner = (world: World<VirtualClock>, sqs: SqsStub) => () =>
  runRefreshPlan(
    {
      // Tracked, so virtual time waits for their I/O.
      index: world.clock.track(
        new DynamoRefreshIndex({ client: world.clients.dynamo, tableName: world.tableName }),
      ),
      queue: world.clock.track(
        new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'http://queue', now: world.clock.now }),
      ),
      credentials: world.clock.track(new SecretsManagerCredentials({ client: world.secrets.client })),
      clock: world.clock,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      metrics: { record() {} },
    },
    {
      periodMs: 60_000,
      marginMs: REFRESH_PLAN_MARGIN_SECONDS * 1000,
      leadMs: REFRESH_DELIVERY_LEAD_MS,
      overdueAfterMs: REFRESH_OVERDUE_AFTER_SECONDS * 1000,
      reconcileEveryMs: REFRESH_RECONCILE_MINUTES * 60_000,
      maxClientsPerMessage: 5,
    },
  );

describe('refresher over the refresh index and SQS (dynalite, loopback SQS stub, the real SDK)', () => {
  test('a first run lists every client and queues them all, a later one reads only the due refreshes', {
    timeout: 120_000,
  }, async ({ fanWorld: world, sqs }) => {
    const handler = createRefreshHandler({
      vendor: world.vendor({ config: PATIENT }),
      telemetry: createTelemetry('fan-out-it'),
      plan: planner(world, sqs),
    });
    const run = async (event: unknown) => world.clock.settle(handler(event, lambdaContext('refresh')));
    const first = (await run({ source: 'aws.events' })) as RefreshPlanSummary;
    expect(first).toMatchObject({ listed: CLIENTS, missing: CLIENTS, queued: CLIENTS, messages: 5 });
    expect(sqs.entries.map((e) => e.delaySeconds)).toEqual([0, 0, 0, 0, 0]);

    const responses = (await Promise.all(
      sqs.received.map((body) => run(sqsEvent([body]))),
    )) as SQSBatchResponse[];
    expect(responses.every((r) => r.batchItemFailures.length === 0)).toBe(true);
    expect(world.simulator.identityCalls()).toBe(CLIENTS);
    const item = await world.store().get('fan-012');
    expect(item?.refreshAt).toBe((item?.token?.expiresAt ?? 0) + (LOOPBACK_VENDOR_CONFIG.expirySlackMs ?? 0));

    // Fifty minutes on, nothing is due before the next run: nothing is listed, nothing queued.
    await world.clock.advance(50 * 60_000);
    const listedBefore = world.secrets.calls('ListSecrets');
    expect(await run({ source: 'aws.events' })).toMatchObject({ queued: 0, overdue: 0 });
    // 9.5 minutes more: every token's successor is due 30 s from now; each is queued, delayed 30 s.
    await world.clock.advance(9.5 * 60_000);
    expect(await run({ source: 'aws.events' })).toMatchObject({ queued: CLIENTS, messages: 5, overdue: 0 });
    expect(world.secrets.calls('ListSecrets')).toBe(listedBefore);
    expect(sqs.entries.slice(5).map((e) => e.delaySeconds)).toEqual([30, 30, 30, 30, 30]);
  });

  test('drops a malformed message without failing the others', async ({ fanWorld: world }) => {
    // The message that parses names a client whose token is valid: nothing to do.
    const handler = createRefreshHandler({
      vendor: world.vendor(),
      telemetry: createTelemetry('fan-out-it'),
    });
    const response = (await handler(
      sqsEvent(['not json', JSON.stringify({ clients: [{ clientId: 'fan-001' }] })]),
      lambdaContext('refresh'),
    )) as SQSBatchResponse;
    expect(response.batchItemFailures).toEqual([]);
  });

  test('fails the scheduled run when SQS refuses a message, so the schedule retries', async ({ sqs }) => {
    sqs.refuseNext(1);
    const queue = new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'http://queue' });
    await expect(queue.send([{ visibleAt: 0, clients: [{ clientId: 'x' }] }])).rejects.toThrow(
      /1 of 1 messages refused/,
    );
  });
});
