import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { SecretsManagerCredentials } from '../../functions/adapters/secrets-manager-credentials.js';
import { SqsBatchDispatcher } from '../../functions/adapters/sqs-batch-dispatcher.js';
import type { RefreshSummary } from '../../functions/core/token-vendor-api.js';
import { createRefreshHandler, type FanOutSummary } from '../../functions/refresh.js';
import { createTelemetry } from '../../functions/telemetry.js';
import { describe, expect, test as worldTest } from '../../testing/fixture.js';
import { type SqsStub, startSqsStub } from '../../testing/sqs-stub.js';
import type { World } from '../../testing/world.js';
import { lambdaContext } from '../support/api-event.js';

const CLIENTS = 24;

/** `fanWorld`: the world with the file's clients registered; `sqs`: the loopback SQS stub. */
const test = worldTest
  .extend('fanWorld', { scope: 'file' }, async ({ world }): Promise<World> => {
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

describe('refresher fan-out over SQS (loopback SQS stub, the real SDK)', () => {
  test('queues batches past the threshold, and workers sweeping them refresh every client once', {
    timeout: 120_000,
  }, async ({ fanWorld: world, sqs }) => {
    const credentials = new SecretsManagerCredentials({ client: world.secrets.client });
    const handler = createRefreshHandler({
      vendor: world.vendor({ config: PATIENT }),
      telemetry: createTelemetry('fan-out-it'),
      fanOut: {
        thresholdClients: 10,
        batchSize: 5,
        listClients: () => credentials.list(),
        dispatch: (batches) =>
          new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'http://queue' }).dispatch(batches),
      },
    });
    const planned = (await handler({ source: 'aws.events' }, lambdaContext('refresh'))) as FanOutSummary;
    expect(planned).toEqual({ clients: CLIENTS, batches: 5 });
    expect(sqs.received).toHaveLength(5);

    const workers = sqs.received.map((body) => handler(sqsEvent([body]), lambdaContext('refresh')));
    const responses = (await Promise.all(workers)) as SQSBatchResponse[];
    expect(responses.every((r) => r.batchItemFailures.length === 0)).toBe(true);
    expect(world.simulator.identityCalls()).toBe(CLIENTS);
    for (const id of ['fan-000', 'fan-012', 'fan-023']) {
      expect((await world.store().get(id))?.token).toBeDefined();
    }
  });

  test('sweeps by itself at or below the threshold', { timeout: 120_000 }, async ({ fanWorld: world }) => {
    const credentials = new SecretsManagerCredentials({ client: world.secrets.client });
    const handler = createRefreshHandler({
      vendor: world.vendor({ config: PATIENT }),
      telemetry: createTelemetry('fan-out-it'),
      fanOut: {
        thresholdClients: 100,
        batchSize: 5,
        listClients: () => credentials.list(),
        dispatch: () => Promise.reject(new Error('must not fan out')),
      },
    });
    const summary = (await handler({}, lambdaContext('refresh'))) as RefreshSummary;
    expect(summary).toMatchObject({ clients: CLIENTS, valid: CLIENTS, failed: 0 });
  });

  test('drops a malformed batch message without failing the others', async ({ fanWorld: world }) => {
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

  test('fails the scheduled run when SQS refuses a batch, so the schedule retries', async ({ sqs }) => {
    sqs.refuseNext(1);
    const dispatcher = new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'http://queue' });
    await expect(dispatcher.dispatch([[{ clientId: 'x' }]])).rejects.toThrow(/1 of 1 messages refused/);
  });
});
