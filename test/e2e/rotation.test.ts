import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenClient, TokenVendorClientError } from '../../client/index.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { until } from '../../testing/until.js';

/**
 * Consumers never see a rotation (issue 15): library consumers with the library's defaults keep calling
 * Marketo (the simulator) through local mode while tokens expire, and none of their calls fails. The
 * token lifespan is short so that two expiries fall inside the test; the assertions count errors, never
 * time.
 */

/**
 * Short-lived tokens: two expiries (three tokens) within about 22 s. The vendor hands a token out only while it
 * has more than its rotation guard (5 s) left, so each of these serves for 5 s and is waited out for 5 s: both
 * sides of a rotation in every lifespan.
 */
const LIFESPAN_SECONDS = 10;
const CLIENT = { clientId: 'rotation-sync', clientSecret: 'rotation-marketo-secret-0123' };
const KEY = {
  accessKeyId: 'ROTATIONKEY',
  secretAccessKey: 'rotation-local-secret-123',
  principalArn: 'arn:aws:iam::000000000000:role/rotation-sync',
  clients: [CLIENT.clientId],
  instances: [],
};
const CONSUMERS = 6;

describe('library consumers across token expiries in local mode', () => {
  let local: TestLocalVendor;

  beforeAll(async () => {
    local = await startTestLocalVendor({
      dataDirPrefix: 'mtv-rotation-e2e-',
      policy: { keys: [KEY] },
      tokenLifespanSeconds: LIFESPAN_SECONDS,
    });
    await local.addClient(CLIENT);
  });

  afterAll(() => local?.stop());

  it('surfaces no error and no refused Marketo call over two expiries, with the library defaults', async () => {
    // Prepare: consumers as separate processes would be (one client library each, default options).
    const simulator = local.simulator;
    if (!simulator) throw new Error('local mode started without its simulator');
    const leadsUrl = `${simulator.restUrl}/rest/v1/leads.json?batchSize=1`;
    const errors: string[] = [];
    const tokensSeen = new Set<string>();
    let calls = 0;
    let refused = 0;
    let running = true;

    const consumer = async (index: number): Promise<void> => {
      const tokens = createTokenClient({ endpoint: local.url, region: local.region, credentials: KEY });
      for (let round = 0; running; round += 1) {
        try {
          calls += 1;
          if ((round + index) % 4 === 0) {
            // getToken names its validity: the default (20 s) is more than these 10 s tokens ever have.
            tokensSeen.add((await tokens.getToken(CLIENT.clientId, { minValidity: 3 })).accessToken);
          } else {
            const response = await tokens.marketoFetch(CLIENT.clientId, leadsUrl);
            const body = (await response.json()) as { success?: boolean };
            if (body.success !== true) refused += 1;
          }
        } catch (error) {
          errors.push(error instanceof TokenVendorClientError ? error.code : String(error));
        }
        await delay(50);
      }
    };

    // Act: keep calling until the simulator has issued three tokens (two expiries), then a little longer.
    const consumers = Promise.all(Array.from({ length: CONSUMERS }, (_, index) => consumer(index)));
    const deadline = Date.now() + (3 * LIFESPAN_SECONDS + 20) * 1000;
    while (simulator.identityCalls(CLIENT.clientId) < 3 && Date.now() < deadline) await delay(200);
    // Until a consumer has seen the third token (an event; a fixed second may pass unused on a busy machine).
    if (simulator.identityCalls(CLIENT.clientId) >= 3) await until(() => tokensSeen.size >= 3);
    running = false;
    await consumers;

    // Assert: two expiries happened, and no consumer saw either.
    expect(tokensSeen.size).toBeGreaterThanOrEqual(3);
    expect(errors).toEqual([]);
    expect(refused).toBe(0);
    // At least one call: how many a machine makes in real time measures its speed, not the vendor (issue 17).
    expect(calls).toBeGreaterThan(0);
    // One Identity call per token: the rotations did not make consumers hammer Identity.
    expect(simulator.identityCalls(CLIENT.clientId)).toBe(simulator.issuedTokens().length);
  }, 120_000);
});
