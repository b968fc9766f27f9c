import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT } from '../../local/marketo-simulator.js';
import { type LocalVendor, startLocalVendor } from '../../local/server.js';
import { localVendorOptionsOf, parseStartOptions } from '../../local/start-options.js';
import { registerSensitive } from '../../testing/leak-scan.js';

/** Starts local mode the way `npm start <args>` does, on free ports and a fresh data directory. */
async function startAsNpmStart(args: string[], cleanups: Array<() => Promise<void>>): Promise<LocalVendor> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mtv-start-limits-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const opts = parseStartOptions([
    '--port',
    '0',
    '--simulator-port',
    '0',
    '--refresh-interval',
    '0',
    '--data-dir',
    dataDir,
    ...args,
  ]);
  const local = await startLocalVendor(localVendorOptionsOf(opts));
  cleanups.push(async () => {
    registerSensitive(...(local.simulator?.issuedTokens() ?? []));
    await local.stop();
  });
  return local;
}

/** One REST call to the simulator with a demo-client token, as a consumer makes it. */
async function callRest(local: LocalVendor): Promise<Record<string, unknown>> {
  const simulator = local.simulator;
  if (!simulator) throw new Error('local mode started without its simulator');
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: DEMO_CLIENT.clientId,
    client_secret: DEMO_CLIENT.clientSecret,
  });
  const identity = await fetch(`${simulator.identityUrl}/oauth/token`, { method: 'POST', body: form });
  const { access_token: token } = (await identity.json()) as { access_token: string };
  const rest = await fetch(`${simulator.restUrl}/rest/v1/leads.json?filterType=id&filterValues=1`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return (await rest.json()) as Record<string, unknown>;
}

describe("npm start's simulator (local/start.ts options)", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("enforces Marketo's daily quota by default: past 50,000 calls a REST call answers 607", async () => {
    // Prepare
    const local = await startAsNpmStart([], cleanups);
    local.simulator?.spendDailyQuota(50_000);

    // Act
    const answer = await callRest(local);

    // Assess
    expect(answer).toMatchObject({
      success: false,
      errors: [{ code: '607', message: 'Daily quota reached' }],
    });
    expect(local.simulator?.limitCounters()).toEqual({
      accepted: 0,
      refused606: 0,
      refused615: 0,
      refused607: 1,
      peakConcurrent: 0,
      peakWindowCalls: 0,
    });
  });

  it('enforces nothing with --no-simulator-limits: the call is answered and no limit is counted', async () => {
    // Prepare
    const local = await startAsNpmStart(['--no-simulator-limits'], cleanups);

    // Act
    const answer = await callRest(local);

    // Assess
    expect(answer).toMatchObject({ success: true, result: [{ id: 1, email: 'lead1@example.com' }] });
    expect(local.simulator?.limitCounters()).toBeUndefined();
  });
});
