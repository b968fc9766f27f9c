import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenClient, MarketoAccessDenied, type TokenClient } from '../../client/index.js';
import { writeCredentialsFile } from '../../functions/adapters/file-credentials.js';
import { DEMO_CLIENT } from '../../local/marketo-simulator.js';
import { registerSensitive } from '../../testing/leak-scan.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';

/**
 * A role configured in local mode's credentials file, end to end: the simulator refuses what the role lacks
 * with 603, and the consumer client names the missing permission.
 */
const READER_SECRET = 'roles-e2e-reader-secret-5c1e';
registerSensitive(READER_SECRET);

describe('local mode: a simulated client with a role from the credentials file', () => {
  let dataDir: string;
  let local: TestLocalVendor;
  let tokens: TokenClient;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mtv-local-roles-'));
    await writeCredentialsFile(join(dataDir, 'credentials.json'), {
      clients: [
        { ...DEMO_CLIENT, identityUrl: 'http://127.0.0.1:9/identity' },
        {
          clientId: 'lead-reader',
          clientSecret: READER_SECRET,
          // A port the simulator does not use: the entry follows the simulator, as the demo entry does.
          identityUrl: 'http://127.0.0.1:9/identity',
          simulatedRole: { permissions: ['Read-Only Lead'], apiUser: 'lead-reader@example.test' },
        },
      ],
    });
    local = await startTestLocalVendor({ dataDir });
    tokens = createTokenClient({
      endpoint: local.url,
      region: 'us-east-1',
      credentials: await local.generatedKey(),
      budget: false,
    });
  });

  afterAll(async () => {
    await local?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('points the entry at the simulator and keeps its role in the file', async () => {
    const file = JSON.parse(await readFile(local.paths.credentials, 'utf8')) as {
      clients: Array<Record<string, unknown>>;
    };

    expect(file.clients.find((c) => c.clientId === 'lead-reader')).toEqual({
      simulatedRole: { permissions: ['Read-Only Lead'], apiUser: 'lead-reader@example.test' },
      clientId: 'lead-reader',
      clientSecret: READER_SECRET,
      identityUrl: local.sim.identityUrl,
      restUrl: local.sim.restUrl,
    });
  });

  it("vends the client's token with its API user as scope, and the role lets it read leads", async () => {
    const token = await tokens.getToken('lead-reader');
    const leads = await tokens.marketoFetch(
      'lead-reader',
      `${local.sim.restUrl}/rest/v1/leads.json?filterType=id&filterValues=1`,
    );

    expect(token.scope).toBe('lead-reader@example.test');
    expect(await leads.json()).toMatchObject({ success: true, result: [{ id: 1 }] });
  });

  it('answers a call outside the role with 603, which the client names as MarketoAccessDenied', async () => {
    const denied = tokens.marketoFetch(
      'lead-reader',
      `${local.sim.restUrl}/rest/v1/opportunities/describe.json`,
    );

    await expect(denied).rejects.toBeInstanceOf(MarketoAccessDenied);
    await expect(denied).rejects.toMatchObject({
      clientId: 'lead-reader',
      path: '/rest/v1/opportunities/describe.json',
      permission: 'Read-Only Opportunity',
    });
  });

  it('keeps every permission for the demo client', async () => {
    const approve = await tokens.marketoFetch(
      'demo-client',
      `${local.sim.restUrl}/rest/asset/v1/email/7/approveDraft.json`,
      { method: 'POST' },
    );

    expect(await approve.json()).toMatchObject({ success: true });
  });
});
