import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type {
  RefreshOptions,
  RefreshSummary,
  TokenVendor,
} from '../../../functions/core/token-vendor-api.js';
import { createRefreshHandler } from '../../../functions/refresh.js';
import { createTelemetry } from '../../../functions/telemetry.js';
import { lambdaContext } from '../../support/api-event.js';

const summary = (failures: RefreshSummary['failures']): RefreshSummary => ({
  clients: 2,
  fetched: 2 - failures.length,
  waited: 0,
  valid: 0,
  deferred: 0,
  failed: failures.length,
  failures,
  pools: [],
});

/** A vendor whose sweeps (whole or of one message) answer `sweep`; every other method is outside these tests. */
function sweepingVendor(sweep: (options: RefreshOptions | undefined) => Promise<RefreshSummary>) {
  const sweeps: Array<RefreshOptions | undefined> = [];
  const unused = () => Promise.reject(new Error('not used by the refresher'));
  const record = (options: RefreshOptions | undefined) => {
    sweeps.push(options);
    return sweep(options);
  };
  const vendor: TokenVendor = {
    getToken: unused,
    invalidate: unused,
    getInstanceToken: unused,
    invalidateInstance: unused,
    refreshAll: record,
    refreshDue: record,
  };
  return { vendor, sweeps };
}

const record = (messageId: string, body: string): SQSRecord =>
  ({ messageId, body, eventSource: 'aws:sqs' }) as SQSRecord;
const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const batchBody = (...clientIds: string[]) =>
  JSON.stringify({ clients: clientIds.map((clientId) => ({ clientId })) });

const run = async (vendor: TokenVendor, event: SQSEvent): Promise<SQSBatchResponse> =>
  (await createRefreshHandler({ vendor, telemetry: createTelemetry('refresh-test') })(
    event,
    lambdaContext('refresh'),
  )) as SQSBatchResponse;

describe('refresh handler on fan-out messages', () => {
  it('reports a message whose client failed for a retryable reason, so SQS redelivers it', async () => {
    const { vendor } = sweepingVendor(async () => summary([{ clientId: 'b', code: 'IdentityUnavailable' }]));
    const result = await run(vendor, sqsEvent(record('m-1', batchBody('a', 'b'))));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
  });

  it('reports only the failed message of several', async () => {
    let call = 0;
    const { vendor } = sweepingVendor(async () => {
      call += 1;
      return call === 2 ? summary([{ clientId: 'c', code: 'StoreUnavailable' }]) : summary([]);
    });
    const result = await run(
      vendor,
      sqsEvent(record('m-1', batchBody('a')), record('m-2', batchBody('c')), record('m-3', batchBody('d'))),
    );
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-2' }] });
  });

  it('does not redeliver a message whose only failures no retry cures', async () => {
    const { vendor } = sweepingVendor(async () =>
      summary([
        { clientId: 'a', code: 'CredentialsMisconfigured' },
        { clientId: 'b', code: 'CredentialsRejected' },
      ]),
    );
    const result = await run(vendor, sqsEvent(record('m-1', batchBody('a', 'b'))));
    expect(result).toEqual({ batchItemFailures: [] });
  });

  it('reports a message whose sweep threw', async () => {
    const { vendor } = sweepingVendor(async () => {
      throw new Error('store down');
    });
    const result = await run(vendor, sqsEvent(record('m-1', batchBody('a'))));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
  });

  it('sweeps a message with the worker horizon of 5 s, never the schedule period', async () => {
    const { vendor, sweeps } = sweepingVendor(async () => summary([]));
    await run(vendor, sqsEvent(record('m-1', batchBody('a'))));
    expect(sweeps.map((s) => s?.horizonMs)).toEqual([5_000]);
  });

  it('handles the messages of one event side by side, each due at its own instant', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { vendor, sweeps } = sweepingVendor(async () => {
      if (sweeps.length === 2) release();
      await gate;
      return summary([]);
    });
    const result = await run(vendor, sqsEvent(record('m-1', batchBody('a')), record('m-2', batchBody('b'))));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(sweeps).toHaveLength(2);
  });

  it('sweeps exactly the clients of the message', async () => {
    const { vendor, sweeps } = sweepingVendor(async () => summary([]));
    await run(
      vendor,
      sqsEvent(
        record('m-1', JSON.stringify({ clients: [{ clientId: 'a', instance: 'i-1' }, { clientId: 'b' }] })),
      ),
    );
    expect(sweeps.map((s) => s?.clients)).toEqual([[{ clientId: 'a', instance: 'i-1' }, { clientId: 'b' }]]);
  });
});

describe('refresh handler on the schedule', () => {
  it('runs the planner when there is one, and sweeps no client itself', async () => {
    const { vendor, sweeps } = sweepingVendor(async () => summary([]));
    const planned = { from: 1, until: 2, queued: 3, messages: 1, overdue: 0 };
    const handler = createRefreshHandler({
      vendor,
      telemetry: createTelemetry('refresh-test'),
      plan: async () => planned,
    });
    expect(await handler({ source: 'aws.events' }, lambdaContext('refresh'))).toEqual(planned);
    expect(sweeps).toEqual([]);
  });

  it('sweeps every client with the schedule horizon when there is no planner (local mode)', async () => {
    const { vendor, sweeps } = sweepingVendor(async () => summary([]));
    await createRefreshHandler({ vendor, telemetry: createTelemetry('refresh-test'), horizonMs: 60_000 })(
      { source: 'aws.events' },
      lambdaContext('refresh'),
    );
    expect(sweeps).toEqual([{ horizonMs: 60_000, concurrency: 16 }]);
  });
});
