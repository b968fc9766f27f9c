import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenClient } from '../../client/index.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { cliRunner } from '../cli/helpers.js';

const KEY = {
  accessKeyId: 'BULKCLIKEY',
  secretAccessKey: 'bulk-cli-local-secret',
  principalArn: 'arn:aws:iam::000000000000:role/nightly-sync',
  clients: ['*'],
  instances: ['*'],
};

describe('CLI: instances status shows the Bulk API slots (local mode, npm start running)', () => {
  let local: TestLocalVendor;
  let cli: ReturnType<typeof cliRunner>;
  let instance: string;

  beforeAll(async () => {
    local = await startTestLocalVendor({ dataDirPrefix: 'mtv-bulk-cli-', policy: { keys: [KEY] } });
    cli = cliRunner(['--local', '--data-dir', local.paths.dataDir], () => []);
    const tokens = createTokenClient({ endpoint: local.url, region: 'us-east-1', credentials: KEY });
    // Two extract jobs running (one expecting 3 MB) and one that ended with a 12.5 MB file.
    await tokens.acquireBulkSlot('demo-client', { kind: 'extract', expectedBytes: 3_000_000 });
    await tokens.acquireBulkSlot('demo-client', { kind: 'extract' });
    const ended = await tokens.acquireBulkSlot('demo-client', { kind: 'extract' });
    await ended.release(12_500_000);
    instance = ended.instance;
  });

  afterAll(() => local.stop());

  it('prints the places in use per queue and the bytes exported today against the quota', async () => {
    const run = await cli(['instances', 'status', instance]);

    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[1]).toBe(
      `${''.padEnd(32)}bulk  extract slots 2/10  import slots 0/10  exported today 12.5 MB/500.0 MB (2.5 %)  +3.0 MB expected in flight`,
    );
  });

  it('gives the same with --json, with who holds each slot', async () => {
    const run = await cli(['instances', 'status', '--json']);

    const [status] = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    expect(status).toMatchObject({
      instance,
      bulk: {
        usage: {
          slots: { extract: { inUse: 2, limit: 10 }, import: { inUse: 0, limit: 10 } },
          exportBytes: 12_500_000,
          exportBytesExpected: 3_000_000,
          exportDailyBytes: 500_000_000,
          jobsEnded: { extract: 1, import: 0 },
        },
        holders: [
          { client: 'c:demo-client', principal: KEY.principalArn, kind: 'extract' },
          { client: 'c:demo-client', principal: KEY.principalArn, kind: 'extract' },
        ],
        exportQuotaReached: false,
      },
    });
  });

  it('books the ended job and its bytes to the consumer that held the slot (instances usage)', async () => {
    const run = await cli(['instances', 'usage', instance, '--json']);

    const { consumers } = JSON.parse(run.stdout) as { consumers: Array<Record<string, unknown>> };
    expect(consumers).toEqual([
      expect.objectContaining({
        consumer: KEY.principalArn,
        client: 'c:demo-client',
        bulkJobs: 1,
        extractMegabytes: 12.5,
      }),
    ]);
  });
});
