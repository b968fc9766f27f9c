/**
 * A budget that knows what Marketo counted (issue 27), end to end in local mode: the simulator counts calls
 * the vendor never made (an integration outside it), and the vendor brings its daily count up to the
 * simulator's usage.json (here every second: BUDGET_RECONCILE_SECONDS=1) before it hands out the day's last
 * permits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignedCaller, realClock } from '../../client/signed-call.js';
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
        BUDGET_RECONCILE_SECONDS: '1',
      },
      simulatorLimits: { dailyQuota: QUOTA },
    });
    await local.addClient(CLIENT);
  });

  afterAll(() => local.stop());

  it('stops at the quota Marketo counts although 990 of the day went to an integration outside the vendor', async () => {
    local.sim.recordOutsideCalls(990);
    const call = createSignedCaller({
      endpoint: local.url,
      region: 'us-east-1',
      credentials: KEY,
      fetch: (input, init) => fetch(input, init),
      clock: realClock,
    });
    const permit = () =>
      call({
        method: 'POST',
        path: `/tokens/${CLIENT.clientId}/permits`,
        query: {},
        body: { concurrency: false },
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
    // read = 991, and that permit 992, so eight permits are left of the 1,000.
    expect(answers).toEqual([
      ...Array<string>(8).fill('granted'),
      ...Array<string>(4).fill('DailyQuotaExhausted'),
    ]);
    expect(vendorReads()).toBe(1);
  });
});
