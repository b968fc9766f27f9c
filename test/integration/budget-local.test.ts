import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenClient } from '../../client/index.js';
import { DEMO_CLIENT } from '../../local/marketo-simulator.js';
import { registerSensitive } from '../../testing/leak-scan.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';

const ADMIN_KEY = {
  accessKeyId: 'BUDGETADMIN',
  secretAccessKey: 'budget-admin-local-secret',
  principalArn: 'arn:aws:iam::000000000000:user/local-mode',
  clients: ['*'],
  instances: ['*'],
};
/** May use `team-b-*` clients only: no client of the demo instance. */
const TEAM_B_KEY = {
  accessKeyId: 'BUDGETTEAMB',
  secretAccessKey: 'budget-team-b-local-secret',
  principalArn: 'arn:aws:iam::000000000000:role/team-b',
  clients: ['team-b-*'],
  instances: [],
};
/** A second Custom Service of the demo instance (same simulator host): it shares the demo client's budget. */
const SECOND = { clientId: 'demo-second', clientSecret: 'demo-second-marketo-secret' };

describe('budget in local mode, the simulator enforcing 5 calls per 20 s', () => {
  let local: TestLocalVendor;

  beforeAll(async () => {
    local = await startTestLocalVendor({
      dataDirPrefix: 'mtv-budget-local-',
      policy: { keys: [ADMIN_KEY, TEAM_B_KEY] },
      env: { BUDGET_LIMITS: JSON.stringify({ default: { callsPerWindow: 5 } }) },
      simulatorLimits: { callsPerWindow: 5 },
    });
    registerSensitive(DEMO_CLIENT.clientSecret);
    await local.addClient(SECOND);
  });

  afterAll(() => local.stop());

  it('refuses the permit route with 403 AccessDenied to a principal not granted a client of the instance', async () => {
    const call = local.signedCaller(TEAM_B_KEY);

    const refused = await call({
      method: 'POST',
      path: '/tokens/demo-client/permits',
      query: {},
      body: {},
      retryBudgetMs: 0,
    }).catch((e: unknown) => e);

    expect(refused).toMatchObject({ code: 'AccessDenied', status: 403 });
  });

  it('keeps two clients of one instance inside its shared limit: the call past it gets no permit, Marketo sees no 606', async () => {
    const admin = createTokenClient({
      endpoint: local.url,
      region: 'us-east-1',
      credentials: ADMIN_KEY,
      budget: { maxWaitMs: 0 },
    });
    const url = `${local.simulator?.restUrl}/rest/v1/leads.json?batchSize=1`;
    // Tokens first (Identity calls take no permit), so no permit waits on a cold vend.
    await Promise.all([admin.getToken(DEMO_CLIENT.clientId), admin.getToken(SECOND.clientId)]);

    const outcomes = [];
    for (let i = 0; i < 6; i += 1) {
      outcomes.push(
        await admin
          .marketoFetch(i % 2 === 0 ? DEMO_CLIENT.clientId : SECOND.clientId, url)
          .then(async (r) => ((await r.json()) as { success: boolean }).success)
          .catch((e: unknown) => (e as { code?: string }).code),
      );
    }

    // The window's 5 permits are all granted, and none beyond. A permit that reached the client after its
    // use-by time (a busy machine) is given back unused and its slot stays spent: so 5 calls succeed when
    // every permit is on time, one fewer per late one, and the calls past the limit get PermitUnavailable.
    const { permits, expired } = admin.budgetStats();
    const succeeded = outcomes.filter((outcome) => outcome === true).length;
    expect(permits).toBe(5);
    expect(succeeded + expired).toBe(5);
    expect(outcomes).toEqual([
      ...Array<boolean>(succeeded).fill(true),
      ...Array<string>(6 - succeeded).fill('PermitUnavailable'),
    ]);
    expect(local.simulator?.limitCounters()).toMatchObject({ accepted: succeeded, refused606: 0 });
    expect(admin.budgetStats()).toMatchObject({ unmetered: 0 });
  });
});
