/**
 * A refresher fan-out worker process: hosts several simulated execution environments of the refresh
 * Lambda, each with its own vendor instance and handler (built once, reused across invocations, as a
 * warm Lambda would), and runs the SQS events the parent delivers to them.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { HttpIdentityClient } from '../../functions/adapters/http-identity-client.js';
import { SecretsManagerCredentials } from '../../functions/adapters/secrets-manager-credentials.js';
import { createTokenVendor } from '../../functions/core/token-vendor.js';
import { createRefreshHandler } from '../../functions/refresh.js';
import { coreLogger, coreMetrics, createTelemetry } from '../../functions/telemetry.js';
import { lambdaContext } from '../../test/support/api-event.js';
import { SkewableClock } from '../../testing/clocks.js';
import { nowMs } from '../lib/stats.js';
import { BENCH_VENDOR_CONFIG, loopbackClients } from '../lib/world.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Parent → worker. */
export type FanOutParentMessage =
  | {
      readonly type: 'init';
      readonly dynamoEndpoint: string;
      readonly secretsEndpoint: string;
      readonly tableName: string;
      readonly offsetMs: number;
      /** Global indexes of the environments this process hosts. */
      readonly environments: readonly number[];
      readonly concurrency: number;
      readonly horizonMs: number;
    }
  | {
      readonly type: 'invoke';
      readonly environment: number;
      readonly messageId: string;
      readonly body: string;
    }
  | { readonly type: 'exit' };

/** Worker → parent. */
export type FanOutWorkerMessage =
  | { readonly type: 'ready' }
  | {
      readonly type: 'done';
      readonly environment: number;
      readonly messageId: string;
      readonly ms: number;
      readonly failedItems: number;
    }
  | { readonly type: 'cpu'; readonly cpuMs: number };

const send = (message: FanOutWorkerMessage): void => {
  process.send?.(message);
};

const handlers = new Map<number, ReturnType<typeof createRefreshHandler>>();
let cleanup: (() => void) | undefined;
const cpuAtStart = process.cpuUsage();

const sqsEvent = (messageId: string, body: string): SQSEvent => ({
  Records: [
    {
      messageId,
      receiptHandle: messageId,
      body,
      attributes: {} as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:refresh-batches',
      awsRegion: 'us-east-1',
    },
  ],
});

process.on('message', (raw: FanOutParentMessage) => {
  switch (raw.type) {
    case 'init': {
      const clock = new SkewableClock();
      clock.offsetMs = raw.offsetMs;
      for (const environment of raw.environments) {
        // Each environment its own SDK clients, sockets and vendor, as separate Lambdas would have.
        const clients = loopbackClients({ dynamo: raw.dynamoEndpoint, secrets: raw.secretsEndpoint }, 64);
        // Logger and metrics wired as the refresh Lambda wires them (their cost is part of a refresh).
        const telemetry = createTelemetry('marketo-token-vendor');
        const vendor = createTokenVendor(
          {
            store: new DynamoTokenStore({ client: clients.dynamo, tableName: raw.tableName }),
            credentials: new SecretsManagerCredentials({ client: clients.secrets, now: clock.now }),
            identity: new HttpIdentityClient({ now: clock.now }),
            clock,
            instanceId: `fan-out-worker-${environment}`,
            logger: coreLogger(telemetry.logger),
            metrics: coreMetrics(telemetry.metrics),
          },
          BENCH_VENDOR_CONFIG,
        );
        handlers.set(
          environment,
          createRefreshHandler({
            vendor,
            telemetry,
            concurrency: raw.concurrency,
            horizonMs: raw.horizonMs,
          }),
        );
        const previous = cleanup;
        cleanup = () => {
          previous?.();
          clients.dynamo.destroy();
          clients.secrets.destroy();
        };
      }
      send({ type: 'ready' });
      return;
    }
    case 'invoke': {
      const handler = handlers.get(raw.environment);
      if (!handler) throw new Error(`environment ${raw.environment} is not hosted here`);
      const started = nowMs();
      void handler(sqsEvent(raw.messageId, raw.body), lambdaContext('refresh')).then(
        (result) =>
          send({
            type: 'done',
            environment: raw.environment,
            messageId: raw.messageId,
            ms: nowMs() - started,
            failedItems: (result as SQSBatchResponse).batchItemFailures.length,
          }),
        () =>
          send({
            type: 'done',
            environment: raw.environment,
            messageId: raw.messageId,
            ms: nowMs() - started,
            failedItems: 1,
          }),
      );
      return;
    }
    case 'exit': {
      const cpu = process.cpuUsage(cpuAtStart);
      send({ type: 'cpu', cpuMs: (cpu.user + cpu.system) / 1000 });
      cleanup?.();
      setTimeout(() => process.disconnect(), 50);
      return;
    }
  }
});
