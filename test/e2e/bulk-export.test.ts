import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BulkExportEvent,
  createTokenClient,
  type TokenClient,
  TokenVendorClientError,
} from '../../client/index.js';
import { nextQuotaReset } from '../../functions/contract/index.js';
import { DEMO_CLIENT } from '../../local/marketo-simulator.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';

const KEY = {
  accessKeyId: 'BULKEXPORTKEY',
  secretAccessKey: 'bulk-export-local-secret',
  principalArn: 'arn:aws:iam::000000000000:role/sync-jobs',
  clients: ['*'],
  instances: ['*'],
};
const FILE_BYTES = 2_000;
const JOB_MS = 60_000;
const JOB = { fields: ['id', 'email'], format: 'CSV' };

// The jobs run on a clock of their own that moves only when the client waits: each `sleep` of the client
// (its polls' backoff, its waits for a slot) moves the simulator's Bulk clock on instead of passing real
// time. What the tests see is an order of events, never this machine's speed. The permit budget is made
// wide enough that no REST call of these tests waits for one (waits are instant on this clock).
describe('bulk export in local mode (the Node client under slots of the vendor)', () => {
  let local: TestLocalVendor;
  let bulkNow = Date.UTC(2026, 11, 1, 20, 0, 0);
  let restUrl: string;

  /** A client whose waits move the jobs' clock; `beforeWait` runs first (what else happens meanwhile). */
  const client = (beforeWait: () => Promise<void> = async () => {}): TokenClient =>
    createTokenClient({
      endpoint: local.url,
      region: 'us-east-1',
      credentials: KEY,
      clock: {
        now: () => Date.now(),
        sleep: async (ms) => {
          await beforeWait();
          bulkNow += ms;
        },
      },
    });

  /** A job created and enqueued by an integration outside the vendor (its own token, no slot). */
  const outsideJob = async (): Promise<{ readonly cancel: () => Promise<void> }> => {
    const identity = await fetch(
      `${local.sim.identityUrl}/oauth/token?grant_type=client_credentials&client_id=${DEMO_CLIENT.clientId}&client_secret=${DEMO_CLIENT.clientSecret}`,
    );
    const { access_token: token } = (await identity.json()) as { access_token: string };
    const call = async (path: string, body?: object) =>
      (await (
        await fetch(`${restUrl}/bulk/v1/leads/export${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        })
      ).json()) as { result: Array<{ exportId: string }> };
    const id = (await call('/create.json', JOB)).result[0]?.exportId as string;
    await call(`/${id}/enqueue.json`);
    return { cancel: async () => void (await call(`/${id}/cancel.json`)) };
  };

  beforeAll(async () => {
    local = await startTestLocalVendor({
      dataDirPrefix: 'mtv-bulk-export-',
      policy: { keys: [KEY] },
      env: {
        BUDGET_LIMITS: JSON.stringify({ default: { callsPerWindow: 100_000, concurrentCalls: 1_000 } }),
        BULK_LIMITS: JSON.stringify({ default: { exportDailyBytes: 40 * FILE_BYTES } }),
      },
      simulatorBulk: {
        processingMs: JOB_MS,
        fileBytes: FILE_BYTES,
        exportDailyBytes: 40 * FILE_BYTES,
        now: () => bulkNow,
      },
    });
    restUrl = local.sim.restUrl;
  });

  afterAll(() => local.stop());

  it('runs a whole export under a slot: the file, its size, and the slot given back with its bytes', async () => {
    const events: BulkExportEvent[] = [];
    const before = local.sim.bulkCounters();

    const result = await client().bulkExport('demo-client', {
      restUrl,
      job: JOB,
      onEvent: (event) => events.push(event),
    });

    expect(result).toMatchObject({ bytes: FILE_BYTES, numberOfRecords: expect.any(Number) });
    expect(Buffer.byteLength(result.file)).toBe(FILE_BYTES);
    // Polls after 5, 10, 20 and 40 s (backoff) of a job that takes 60 s: ended at the fourth.
    expect(events.map((e) => (e.kind === 'status' ? e.status : e.kind))).toEqual([
      'slot',
      'created',
      'queued',
      'Processing',
      'Processing',
      'Processing',
      'Completed',
      'ended',
    ]);
    expect(events.at(-1)).toEqual({ kind: 'ended', status: 'Completed', bytes: FILE_BYTES });
    expect(local.sim.bulkCounters().completed - before.completed).toBe(1);
    const slot = await client().acquireBulkSlot('demo-client', { kind: 'import' });
    expect(slot.usage).toMatchObject({ slots: { extract: { inUse: 0 } } });
    expect(slot.usage?.exportBytes).toBe(local.sim.bulkCounters().exportedBytes);
    await slot.release();
  });

  it("keeps 14 exports at once inside Marketo's queue: every place used while the others wait, none refused", async () => {
    local.sim.resetCounters();
    // The jobs' clock stands still until 10 jobs are queued: the 4 exports without a place wait for one.
    let queued = 0;
    let allQueued: () => void = () => {};
    const tenQueued = new Promise<void>((resolve) => {
      allQueued = resolve;
    });
    const onEvent = (event: BulkExportEvent) => {
      if (event.kind === 'queued' && ++queued === 10) allQueued();
    };
    const consumers = [client(() => tenQueued), client(() => tenQueued)];
    const results = await Promise.all(
      Array.from({ length: 14 }, (_, i) =>
        (consumers[i % 2] as TokenClient).bulkExport('demo-client', { restUrl, job: JOB, onEvent }),
      ),
    );
    expect(results.map((r) => r.bytes)).toEqual(Array(14).fill(FILE_BYTES));
    expect(results.filter((r) => r.slotWaitedMs > 0).length).toBeGreaterThanOrEqual(4);
    expect(local.sim.bulkCounters()).toMatchObject({
      completed: 14,
      peakQueued: 10,
      peakProcessing: 2,
      refusedQueueFull: 0,
      refusedQuota: 0,
    });
  });

  it('waits out a queue that an integration outside the vendor filled (1029), keeping its slot', async () => {
    local.sim.resetCounters();
    const outside = await Promise.all(Array.from({ length: 10 }, outsideJob));
    // While the client waits after its first 1029, the outside integration gives up its jobs (cancelled jobs
    // export nothing, so the day's count stays the vendor's).
    let cancelled: Promise<unknown> | undefined;
    const events: BulkExportEvent[] = [];
    const tokens = client(async () => {
      if (events.some((e) => e.kind === 'queue-full'))
        cancelled ??= Promise.all(outside.map((job) => job.cancel()));
      await cancelled;
    });

    const result = await tokens.bulkExport('demo-client', {
      restUrl,
      job: JOB,
      onEvent: (e) => events.push(e),
    });

    expect(result.bytes).toBe(FILE_BYTES);
    expect(events.filter((e) => e.kind === 'queue-full')).toHaveLength(1);
    expect(local.sim.bulkCounters()).toMatchObject({ refusedQueueFull: 1, cancelled: 10 });
  });

  it('fails with DailyExportQuotaExhausted and the reset time once the day reached the quota, never asking Marketo', async () => {
    const tokens = client();
    const before = local.sim.bulkCounters();
    // The rest of the day's 40 files: every export succeeds until the vendor says the quota is used up.
    let exported = 0;
    let error: unknown;
    while (error === undefined) {
      await tokens.bulkExport('demo-client', { restUrl, job: JOB }).then(
        () => {
          exported += 1;
        },
        (e: unknown) => {
          error = e;
        },
      );
    }

    expect(error).toBeInstanceOf(TokenVendorClientError);
    expect(error).toMatchObject({
      code: 'DailyExportQuotaExhausted',
      status: 429,
      resetsAt: nextQuotaReset(Date.now()),
      retryable: false,
    });
    const after = local.sim.bulkCounters();
    expect(after.exportedBytes).toBe(40 * FILE_BYTES);
    expect(after.created - before.created).toBe(exported);
    expect(after.refusedQuota).toBe(0);
  });
});
