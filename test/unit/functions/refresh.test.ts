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

/** A vendor whose sweeps answer `sweep`; every other method is outside these tests. */
function sweepingVendor(sweep: (options: RefreshOptions | undefined) => Promise<RefreshSummary>) {
  const sweeps: Array<RefreshOptions | undefined> = [];
  const unused = () => Promise.reject(new Error('not used by the refresher'));
  const vendor: TokenVendor = {
    getToken: unused,
    invalidate: unused,
    getInstanceToken: unused,
    invalidateInstance: unused,
    refreshAll: (options) => {
      sweeps.push(options);
      return sweep(options);
    },
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
