import { afterEach, expect, it } from 'vitest';
import { createTokenClient } from '../../client/index.js';
import { DEMO_CLIENT } from '../../local/marketo-simulator.js';
import { registerSensitive } from '../../testing/leak-scan.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { until } from '../../testing/until.js';

/**
 * Stopping local mode while a request runs: the API closes first and the request finishes against a store
 * and a simulator that still answer. The grace is set far beyond what the request needs (it answers in
 * milliseconds once Identity does), so the outcome is an order of events, not a race.
 */
const started: TestLocalVendor[] = [];
afterEach(async () => {
  for (const local of started.splice(0)) await local.stop();
});

it('lets a vend already running finish with its token when local mode stops', async () => {
  const local = await startTestLocalVendor({ dataDirPrefix: 'mtv-shutdown-', stopGraceMs: 60_000 });
  started.push(local);
  const simulator = local.sim;
  registerSensitive(DEMO_CLIENT.clientSecret);
  const client = createTokenClient({
    endpoint: local.url,
    region: 'us-east-1',
    credentials: await local.generatedKey(),
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
