import { setTimeout as delay } from 'node:timers/promises';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertClient } from '../../functions/adapters/file-credentials.js';
import { registerSensitive } from '../../testing/leak-scan.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { until } from '../../testing/until.js';

/**
 * The secret-rotation procedure of docs/operations.md, run against local mode: Marketo keeps one secret
 * per Custom Service, so the old one dies the moment a new one is issued. Consumers see no failure as long
 * as (1) the cached token outlives the gap between "new secret in Marketo" and "new secret in the vendor's
 * store", and (2) the vendor reads the new secret when it next needs Identity (here: the token's natural
 * expiry shortly after the swap).
 */

/** Short-lived tokens so that a natural expiry (and a fresh Identity call) falls inside the test. */
const LIFESPAN_SECONDS = 10;
const CLIENT_ID = 'rotating-sync';
const OLD_SECRET = 'rotation-old-secret-0123456789';
const NEW_SECRET = 'rotation-new-secret-9876543210';

interface Vend {
  readonly at: number;
  readonly status: number;
  readonly token?: string;
  readonly code?: string;
}

/** Signs with the key local mode generated (read from its policy file once it has started). */
let signer: SignatureV4;
const signerFor = (key: { accessKeyId: string; secretAccessKey: string }): SignatureV4 =>
  new SignatureV4({
    service: 'execute-api',
    region: 'us-east-1',
    sha256: Sha256,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
  });

/** One SigV4-signed `GET /tokens/<id>?minValidity=1` straight to the API (no client-side cache). */
async function vend(baseUrl: string): Promise<Vend> {
  const target = new URL(`${baseUrl}/tokens/${CLIENT_ID}?minValidity=1`);
  const signed = await signer.sign(
    new HttpRequest({
      method: 'GET',
      protocol: 'http:',
      hostname: target.hostname,
      port: Number(target.port),
      path: target.pathname,
      query: Object.fromEntries(target.searchParams),
      headers: { host: target.host },
    }),
  );
  const { host: _host, ...headers } = signed.headers;
  const response = await fetch(target, { headers });
  const body = (await response.json()) as { accessToken?: string; error?: { code: string } };
  return { at: Date.now(), status: response.status, token: body.accessToken, code: body.error?.code };
}

describe('client secret rotation in local mode', () => {
  let local: TestLocalVendor;

  beforeAll(async () => {
    local = await startTestLocalVendor({
      dataDirPrefix: 'mtv-rotation-',
      tokenLifespanSeconds: LIFESPAN_SECONDS,
    });
    signer = signerFor(await local.generatedKey());
    registerSensitive(NEW_SECRET);
    await local.addClient({ clientId: CLIENT_ID, clientSecret: OLD_SECRET });
  });

  afterAll(() => local?.stop());

  it('serves a steady stream of vends with zero failures across the rotation and the next token', async () => {
    // Prepare: a warm token obtained with the old secret (the procedure starts right after a refresh).
    const simulator = local.simulator;
    if (!simulator) throw new Error('local mode started without its simulator');
    const first = await vend(local.url);
    expect(first.status).toBe(200);
    const identityBefore = simulator.identityCalls(CLIENT_ID);

    // Act: four consumers vend every 20 ms while the operator rotates the secret.
    const vends: Vend[] = [];
    let streaming = true;
    const consumer = async () => {
      while (streaming) {
        vends.push(await vend(local.url));
        await delay(20);
      }
    };
    const consumers = Promise.all([consumer(), consumer(), consumer(), consumer()]);
    // Each step waits for vends to happen (events), not for a duration a busy machine may not fill.
    const moreVends = async (count: number) => {
      const target = vends.length + count;
      await until(() => vends.length >= target);
    };
    await moreVends(4);
    // Step 1 (Marketo, Admin > LaunchPoint): a new secret; the old one is refused from now on.
    const rotatedAt = Date.now();
    simulator.setClientSecret(CLIENT_ID, NEW_SECRET);
    await moreVends(4);
    // Step 2 (vendor store: `clients add <id> --secret-stdin`): the new secret replaces the old one.
    await upsertClient(local.paths.credentials, {
      clientId: CLIENT_ID,
      clientSecret: NEW_SECRET,
      identityUrl: simulator.identityUrl,
    });
    const storedAt = Date.now();
    // Keep vending past the natural expiry of the token that was live during the swap.
    const deadline = Date.now() + (LIFESPAN_SECONDS + 8) * 1000;
    while (
      Date.now() < deadline &&
      !vends.some((v) => v.at > storedAt && v.token && v.token !== first.token)
    ) {
      await delay(100);
    }
    await moreVends(4);
    streaming = false;
    await consumers;

    // Assess: every vend succeeded, before, during and after the swap.
    const failures = vends.filter((v) => v.status !== 200).map((v) => `${v.status} ${v.code}`);
    expect(failures).toEqual([]);
    expect(vends.filter((v) => v.at < rotatedAt).length).toBeGreaterThan(0);
    expect(vends.filter((v) => v.at >= rotatedAt && v.at <= storedAt).length).toBeGreaterThan(0);
    expect(vends.filter((v) => v.at >= storedAt).length).toBeGreaterThan(0);
    // The next token was issued after the swap, i.e. obtained with the new secret, and is Marketo's current one.
    const tokens = [...new Set(vends.map((v) => v.token))];
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    expect(tokens.at(-1)).toBe(simulator.currentToken(CLIENT_ID)?.accessToken);
    // Identity saw only the calls needed for the next token(s), never a stampede.
    expect(simulator.identityCalls(CLIENT_ID) - identityBefore).toBeLessThanOrEqual(tokens.length + 1);
  });
});
