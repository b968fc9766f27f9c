import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliRunner } from '../cli/helpers.js';

describe('CLI: instances status and limits (local mode)', () => {
  let dataDir: string;
  let cli: ReturnType<typeof cliRunner>;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mtv-budget-cli-'));
    cli = cliRunner(['--local', '--data-dir', dataDir], () => []);
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('says no instance used the budget yet on a fresh store', async () => {
    const run = await cli(['instances', 'status']);

    expect(run).toMatchObject({ code: 0, stdout: 'no instance has used the budget yet\n' });
  });

  it('shows an override at once: window, concurrency and daily quota after the reserved share, and the reset', async () => {
    await cli([
      'instances',
      'limits',
      '123-ABC-456.mktorest.com',
      '--daily-quota',
      '40000',
      '--reserved-share',
      '0.2',
    ]);

    const run = await cli(['instances', 'status', '--json']);

    expect(JSON.parse(run.stdout)).toMatchObject([
      {
        instance: '123-abc-456.mktorest.com',
        usage: {
          windowCalls: 0,
          windowLimit: 80,
          inFlight: 0,
          concurrencyLimit: 8,
          dailyUsed: 0,
          dailyQuota: 32_000,
        },
        exhausted: false,
      },
    ]);
  });
});
