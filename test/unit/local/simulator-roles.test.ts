import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createMarketoSimulator,
  DEMO_CLIENT,
  type MarketoSimulator,
} from '../../../local/marketo-simulator.js';
import { registerSensitive } from '../../../testing/leak-scan.js';

const FULL = { clientId: 'full-role', clientSecret: 'roles-secret-1' };
const READER = {
  clientId: 'lead-reader',
  clientSecret: 'roles-secret-2',
  permissions: ['Read-Only Activity', 'Read-Write Lead'],
};
registerSensitive(FULL.clientSecret, READER.clientSecret);

const DENIED = { success: false, errors: [{ code: '603', message: 'Access denied' }] };

async function tokenOf(sim: MarketoSimulator, client: { clientId: string; clientSecret: string }) {
  const query = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: client.clientId,
    client_secret: client.clientSecret,
  });
  const body = (await (await fetch(`${sim.identityUrl}/oauth/token?${query}`)).json()) as {
    access_token: string;
  };
  return body.access_token;
}

async function call(sim: MarketoSimulator, token: string, method: string, path: string) {
  const response = await fetch(`${sim.restUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('MarketoSimulator roles (the permissions of each client’s API-only user)', () => {
  let sim: MarketoSimulator;

  beforeEach(async () => {
    sim = createMarketoSimulator({ clients: [FULL, READER, DEMO_CLIENT] });
    await sim.start();
  });

  afterEach(async () => {
    registerSensitive(...sim.issuedTokens());
    await sim.stop();
  });

  it('gives a client without a role, and the demo client, every permission', async () => {
    for (const client of [FULL, DEMO_CLIENT]) {
      const token = await tokenOf(sim, client);

      const approve = await call(sim, token, 'POST', '/rest/asset/v1/email/7/approveDraft.json');
      const trigger = await call(sim, token, 'POST', '/rest/v1/campaigns/7/trigger.json');

      expect(approve.body.success).toBe(true);
      expect(trigger.body.success).toBe(true);
    }
  });

  it('answers 603 Access denied in an HTTP 200 for a path outside the role', async () => {
    const token = await tokenOf(sim, READER);

    const answer = await call(sim, token, 'GET', '/rest/v1/opportunities/describe.json');

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject(DENIED);
  });

  it('lets Read-Write Lead read leads, and refuses writes outside the role', async () => {
    const token = await tokenOf(sim, READER);

    const read = await call(sim, token, 'GET', '/rest/v1/leads.json?filterType=id&filterValues=1');
    const activities = await call(sim, token, 'GET', '/rest/v1/activities/types.json');
    const addActivity = await call(sim, token, 'POST', '/rest/v1/activities/external.json');

    expect(read.body.success).toBe(true);
    expect(activities.body.success).toBe(true);
    expect(addActivity.body).toMatchObject(DENIED);
  });

  it('allows paths the permission table does not know', async () => {
    const token = await tokenOf(sim, READER);

    const usage = await call(sim, token, 'GET', '/rest/v1/stats/usage.json');

    expect(usage.body.success).toBe(true);
  });

  it("applies a role changed at run time to the client's live token, as Marketo does", async () => {
    const token = await tokenOf(sim, READER);

    sim.setClientPermissions(READER.clientId, ['Read-Only Opportunity']);
    const opportunities = await call(sim, token, 'GET', '/rest/v1/opportunities/describe.json');
    const leads = await call(sim, token, 'GET', '/rest/v1/leads/describe.json');

    expect(opportunities.body.success).toBe(true);
    expect(leads.body).toMatchObject(DENIED);
  });

  it('refuses a role naming a permission Marketo does not have', () => {
    expect(() =>
      sim.addClient({ clientId: 'typo', clientSecret: 'x', permissions: ['Read-Only Leads'] }),
    ).toThrow('unknown Marketo permission "Read-Only Leads" in the role of simulator client "typo"');
  });

  it('logs each REST call by method, path (no query), client and answer code', async () => {
    const token = await tokenOf(sim, READER);

    await call(sim, token, 'GET', '/rest/v1/leads.json?filterType=email&filterValues=lead1@example.com');
    await call(sim, token, 'POST', '/rest/v1/opportunities.json');

    expect(sim.restRequests()).toEqual([
      { method: 'GET', path: '/rest/v1/leads.json', clientId: READER.clientId, code: 'ok' },
      { method: 'POST', path: '/rest/v1/opportunities.json', clientId: READER.clientId, code: '603' },
    ]);
  });

  it('answers a forced 606, 607 or 615 like a forced 601 or 602', async () => {
    const token = await tokenOf(sim, FULL);
    sim.forceRestError('606');
    sim.forceRestError('615');

    const first = await call(sim, token, 'GET', '/rest/v1/leads/describe.json');
    const second = await call(sim, token, 'GET', '/rest/v1/leads/describe.json');

    expect(first.body).toMatchObject({ success: false, errors: [{ code: '606' }] });
    expect(second.body).toMatchObject({ success: false, errors: [{ code: '615' }] });
  });

  it('answers forced HTTP failures of the REST host (an instance that is down)', async () => {
    const token = await tokenOf(sim, FULL);
    sim.forceRestHttpStatus(503);

    const response = await fetch(`${sim.restUrl}/rest/v1/leads/describe.json`, {
      headers: { authorization: `Bearer ${token}` },
    });

    expect(response.status).toBe(503);
    await response.body?.cancel();
  });
});
