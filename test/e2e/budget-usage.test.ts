/**
 * Usage per consumer (issue 27), end to end in local mode: two keys on two clients of one simulated
 * instance take permits, report a 606 and vend tokens; `instances usage` (the CLI on the running local mode)
 * books each to its principal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceKeyOf } from '../../functions/core/budget/index.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { cliRunner } from '../cli/helpers.js';

const KEY_A = {
  accessKeyId: 'USAGETEAMA',
  secretAccessKey: 'usage-team-a-local-secret',
  principalArn: 'arn:aws:iam::000000000000:role/team-a',
  clients: ['usage-a'],
  instances: [],
};
const KEY_B = {
  accessKeyId: 'USAGETEAMB',
  secretAccessKey: 'usage-team-b-local-secret',
  principalArn: 'arn:aws:iam::000000000000:role/team-b',
  clients: ['usage-b'],
  instances: [],
};

describe('usage per consumer in local mode', () => {
  let local: TestLocalVendor;

  beforeAll(async () => {
    local = await startTestLocalVendor({
      dataDirPrefix: 'mtv-budget-usage-',
      policy: { keys: [KEY_A, KEY_B] },
    });
    await local.addClient({ clientId: 'usage-a', clientSecret: 'usage-a-marketo-secret' });
    await local.addClient({ clientId: 'usage-b', clientSecret: 'usage-b-marketo-secret' });
  });

  afterAll(() => local.stop());

  const call = (key: typeof KEY_A, method: 'GET' | 'POST', path: string, body?: Record<string, unknown>) =>
    local
      .signedCaller(key)({
        method,
        path,
        query: {},
        ...(body === undefined ? {} : { body }),
        retryBudgetMs: 0,
      })
      .then((answer) => answer.body as Record<string, unknown>);

  it('books permits, token vends and reported 606s to the principal that asked, per client', async () => {
    await call(KEY_A, 'GET', '/tokens/usage-a');
    for (let i = 0; i < 3; i += 1)
      await call(KEY_A, 'POST', '/tokens/usage-a/permits', { concurrency: false, maxWaitMs: 5_000 });
    await call(KEY_A, 'POST', '/tokens/usage-a/permits', { count: 4, concurrency: false, maxWaitMs: 5_000 });
    // Seven calls so far: past the idle burst, team B's is answered at its turn of the pacing.
    const held = await call(KEY_B, 'POST', '/tokens/usage-b/permits', { maxWaitMs: 5_000 });
    await call(KEY_B, 'POST', '/tokens/usage-b/permits/release', {
      permitId: held.permitId,
      marketoError: '606',
    });
    await local.flushUsage();
    const instance = instanceKeyOf({ identityUrl: local.sim.identityUrl });
    const cli = cliRunner(['--local', '--data-dir', local.paths.dataDir], () => []);

    const run = await cli(['instances', 'usage', instance, '--json']);

    expect(run.code).toBe(0);
    const usage = JSON.parse(run.stdout) as { consumers: unknown[]; callsByConsumers: number };
    const zero = { marketo606: 0, marketo615: 0, marketo607: 0, bulkJobs: 0, extractMegabytes: 0 };
    expect(usage.consumers).toEqual([
      // Team A: 3 + 4 calls and one token; team B: one call, whose 606 it reported.
      { consumer: KEY_A.principalArn, client: 'c:usage-a', calls: 7, vends: 1, ...zero },
      { consumer: KEY_B.principalArn, client: 'c:usage-b', calls: 1, vends: 0, ...zero, marketo606: 1 },
    ]);
    expect(usage.callsByConsumers).toBe(8);
  });

  it('prints the top consumers as a table', async () => {
    const instance = instanceKeyOf({ identityUrl: local.sim.identityUrl });
    const cli = cliRunner(['--local', '--data-dir', local.paths.dataDir], () => []);

    const run = await cli(['instances', 'usage', instance, '--top', '1']);

    expect(run.stdout.split('\n').slice(1, 4)).toEqual([
      expect.stringMatching(/^consumer\s+client\s+calls\s+vends\s+606\s+615\s+607\s+bulk jobs\s+extract MB$/),
      expect.stringMatching(
        /^arn:aws:iam::000000000000:role\/team-a\s+c:usage-a\s+7\s+1\s+0\s+0\s+0\s+0\s+0\.0$/,
      ),
      '… and 1 more (--top)',
    ]);
  });
});
