/**
 * A budget that knows what Marketo counted (issue 27), end to end in local mode: the simulator counts calls
 * the vendor never made (an integration outside it), and the vendor brings its daily count up to the
 * simulator's usage.json (here every 3 s: BUDGET_RECONCILE_SECONDS=3, longer than the twelve permits asked
 * after the first read take at the pacing's rate) before it hands out the day's last permits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { until } from '../../testing/until.js';

const KEY = {
  accessKeyId: 'RECONCILESYNC',
  secretAccessKey: 'reconcile-sync-local-secret',
  principalArn: 'arn:aws:iam::000000000000:role/nightly-sync',
  clients: ['nightly-sync'],
  instances: [],
};
const CLIENT = { clientId: 'nightly-sync', clientSecret: 'reconcile-sync-marketo-secret' };
const QUOTA = 1_000;

describe('the daily count reconciled with the simulator in local mode', () => {
  let local: TestLocalVendor;

  beforeAll(async () => {
    local = await startTestLocalVendor({
      dataDirPrefix: 'mtv-budget-reconcile-',
      policy: { keys: [KEY] },
      env: {
        BUDGET_LIMITS: JSON.stringify({ default: { dailyQuota: QUOTA } }),
        BUDGET_RECONCILE_SECONDS: '3',
      },
      simulatorLimits: { dailyQuota: QUOTA },
    });
    await local.addClient(CLIENT);
  });

  afterAll(() => local.stop());

  it('stops at the quota Marketo counts although 990 of the day went to an integration outside the vendor', async () => {
    local.sim.recordOutsideCalls(990);
    const call = local.signedCaller(KEY);
    const permit = () =>
      call({
        method: 'POST',
        path: `/tokens/${CLIENT.clientId}/permits`,
        query: {},
        // Answered at its turn of the pacing (one call due about every 212 ms past an idle burst).
        body: { concurrency: false, maxWaitMs: 10_000 },
        retryBudgetMs: 0,
      }).then(
        () => 'granted',
        (error: { code?: string }) => error.code,
      );
    const vendorReads = () => local.sim.usageToday().total - 990;

    // Permits only (no call reaches Marketo) until the vendor has read usage.json once.
    await until(async () => (await permit()) === 'granted' && vendorReads() === 1, { pollMs: 50 });
    const answers: Array<string | undefined> = [];
    for (let i = 0; i < 12; i += 1) answers.push(await permit());

    // Reconciled before the permit that brought the read: 990 outside calls + the vendor's own usage.json
    // read = 991, and that permit 992, so eight permits are left of the 1,000. A later read (a machine slow
    // enough for the loop to outlast an interval) takes one of them for its own permit.
    const left = 8 - (vendorReads() - 1);
    expect(answers).toEqual([
      ...Array<string>(left).fill('granted'),
      ...Array<string>(12 - left).fill('DailyQuotaExhausted'),
    ]);
  });
});
