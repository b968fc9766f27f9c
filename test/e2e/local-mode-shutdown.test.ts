import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createTokenClient } from '../../client/index.js';
import { DEMO_CLIENT } from '../../local/marketo-simulator.js';
import { readGeneratedKey } from '../../local/policy.js';
import { startLocalVendor } from '../../local/server.js';
import { until } from '../../testing/until.js';
import { registerSensitive } from '../support/leak-scan.js';

/**
 * Stopping local mode while a request runs: the API closes first and the request finishes against a store
 * and a simulator that still answer. The grace is set far beyond what the request needs (it answers in
 * milliseconds once Identity does), so the outcome is an order of events, not a race.
 */
const dataDirs: string[] = [];
afterEach(async () => {
  for (const dir of dataDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

it('lets a vend already running finish with its token when local mode stops', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mtv-shutdown-'));
  dataDirs.push(dataDir);
  const local = await startLocalVendor({
    port: 0,
    simulatorPort: 0,
    dataDir,
    refreshIntervalMs: 0,
    env: {},
    stopGraceMs: 60_000,
  });
  const simulator = local.simulator;
  if (!simulator) throw new Error('local mode started without its simulator');
  registerSensitive(DEMO_CLIENT.clientSecret);
  const client = createTokenClient({
    endpoint: local.url,
    region: 'us-east-1',
    credentials: await readGeneratedKey(local.paths.policy),
  });
  // Identity holds the cold vend's call until the stop has begun.
  simulator.injectIdentityFault({ kind: 'delay', ms: 300 }, 1, { clientId: DEMO_CLIENT.clientId });

  const vend = client.getToken(DEMO_CLIENT.clientId).then(
    (token) => ({ token }),
    (error: unknown) => ({ error }),
  );
  await until(() => simulator.identityCalls(DEMO_CLIENT.clientId) === 1);
  const stopped = local.stop();
  const outcome = await vend;
  await stopped;
  registerSensitive(...simulator.issuedTokens());

  expect(outcome).toEqual({ token: expect.objectContaining({ clientId: DEMO_CLIENT.clientId }) });
});
