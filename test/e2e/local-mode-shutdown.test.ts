import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runCli } from '../../cli/index.js';
import { createTokenClient } from '../../client/index.js';
import { DEMO_CLIENT } from '../../local/marketo-simulator.js';
import { registerSensitive } from '../../testing/leak-scan.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { until } from '../../testing/until.js';
import { memoryIo } from '../cli/helpers.js';

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

it("keeps a client's real last error when local mode stops during a sweep that retries it", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mtv-shutdown-sweep-'));
  try {
    const local = await startTestLocalVendor({ dataDir });
    await local.addClient({ clientId: 'flaky', clientSecret: 'flaky-marketo-secret-0123' });
    // Every Identity call of this client fails: the first sweep records why, the second retries with backoff.
    local.sim.injectIdentityFault({ kind: 'status', status: 503 }, 100, { clientId: 'flaky' });
    const first = await local.refreshNow();
    expect(first.failures).toEqual([{ clientId: 'flaky', code: 'IdentityUnavailable' }]);
    const calls = local.sim.identityCalls('flaky');

    const second = local.refreshNow().catch(() => undefined);
    await until(() => local.sim.identityCalls('flaky') > calls);
    await local.stop();
    await second;

    const memory = memoryIo();
    expect(
      await runCli(['--local', '--data-dir', dataDir, 'clients', 'status', 'flaky', '--json'], memory.io),
    ).toBe(0);
    expect(JSON.parse(memory.stdout()).lastError).toMatchObject({
      code: 'IdentityUnavailable',
      message: 'Identity answered HTTP 503, server_error',
    });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
