import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerCredentials } from '../../functions/adapters/secrets-manager-credentials.js';
import { SqsBatchDispatcher } from '../../functions/adapters/sqs-batch-dispatcher.js';
import type { RefreshSummary } from '../../functions/core/vendor.js';
import { createRefreshHandler, type FanOutSummary } from '../../functions/refresh.js';
import { createTelemetry } from '../../functions/telemetry.js';
import { lambdaContext } from '../support/api-event.js';
import { type LoopbackWorld, startLoopbackWorld } from '../support/loopback-world.js';
import { type SqsStub, startSqsStub } from '../support/sqs-stub.js';

let world: LoopbackWorld;
let sqs: SqsStub;

beforeAll(async () => {
  [world, sqs] = await Promise.all([startLoopbackWorld(), startSqsStub()]);
  for (let i = 0; i < 240; i += 1) world.registerClient(`fan-${String(i).padStart(3, '0')}`);
});

afterAll(async () => {
  await Promise.all([world.stop(), sqs.stop()]);
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

describe('refresher fan-out over SQS (loopback SQS stub, the real SDK)', () => {
  it('queues batches past the threshold, and workers sweeping them refresh every client once', async () => {
    const credentials = new SecretsManagerCredentials({ client: world.secrets.client });
    const handler = createRefreshHandler({
      vendor: world.vendor(),
      telemetry: createTelemetry('fan-out-it'),
      fanOut: {
        thresholdClients: 100,
        batchSize: 50,
        listClients: () => credentials.list(),
        dispatch: (batches) =>
          new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'http://queue' }).dispatch(batches),
      },
    });
    const planned = (await handler({ source: 'aws.events' }, lambdaContext('refresh'))) as FanOutSummary;
    expect(planned).toEqual({ clients: 240, batches: 5 });
    expect(sqs.received).toHaveLength(5);

    const workers = sqs.received.map((body) => handler(sqsEvent([body]), lambdaContext('refresh')));
    const responses = (await Promise.all(workers)) as SQSBatchResponse[];
    expect(responses.every((r) => r.batchItemFailures.length === 0)).toBe(true);
    expect(world.simulator.identityCalls()).toBe(240);
    for (const id of ['fan-000', 'fan-120', 'fan-239']) {
      expect((await world.store().get(id))?.token).toBeDefined();
    }
  });

  it('sweeps by itself at or below the threshold', async () => {
    const credentials = new SecretsManagerCredentials({ client: world.secrets.client });
    const handler = createRefreshHandler({
      vendor: world.vendor(),
      telemetry: createTelemetry('fan-out-it'),
      fanOut: {
        thresholdClients: 1_000,
        batchSize: 50,
        listClients: () => credentials.list(),
        dispatch: () => Promise.reject(new Error('must not fan out')),
      },
    });
    const summary = (await handler({}, lambdaContext('refresh'))) as RefreshSummary;
    expect(summary).toMatchObject({ clients: 240, valid: 240, failed: 0 });
  });

  it('drops a malformed batch message without failing the others', async () => {
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

  it('fails the scheduled run when SQS refuses a batch, so the schedule retries', async () => {
    sqs.refuseNext(1);
    const dispatcher = new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'http://queue' });
    await expect(dispatcher.dispatch([[{ clientId: 'x' }]])).rejects.toThrow(/1 of 1 messages refused/);
  });
});
