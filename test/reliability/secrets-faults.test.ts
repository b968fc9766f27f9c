import { randomUUID } from 'node:crypto';
import { SecretsManagerCredentials } from '../../functions/adapters/secrets-manager-credentials.js';
import { describe, expect, test as worldTest } from '../../testing/fixture.js';
import { registerSensitive } from '../../testing/leak-scan.js';
import { routeEvent } from '../support/api-event.js';
import { apiCaller, LoopbackOnlyIdentity, makeVendor } from './harness.js';

const PREFIX = 'marketo-token-vendor/clients/';
const HOUR_MS = 3_600_000;

/**
 * `credentials(cacheTtlMs?)`: a fresh Secrets Manager source on one SDK attempt, so a dead endpoint
 * fails in milliseconds rather than after SDK back-off.
 */
const test = worldTest.extend(
  'credentials',
  { scope: 'file' },
  async ({ world }, { onCleanup }): Promise<(cacheTtlMs?: number) => SecretsManagerCredentials> => {
    const oneShot = world.secrets.createClient({ maxAttempts: 1 });
    onCleanup(() => oneShot.destroy());
    return (cacheTtlMs) =>
      new SecretsManagerCredentials({
        client: oneShot,
        now: world.clock.now,
        ...(cacheTtlMs === undefined ? {} : { cacheTtlMs }),
      });
  },
);

test.afterEach(({ world }) => {
  world.secrets.setDown(false);
  world.clock.offsetMs = 0;
});

describe('Secrets Manager endpoint down', () => {
  test('answers 503 CredentialsUnavailable with Retry-After and calls no Identity on a cold vend', async ({
    world,
    credentials,
  }) => {
    const clientId = world.newClient('secret-fault');
    world.secrets.setDown(true);
    const answer = await apiCaller(makeVendor(world, { credentials: credentials() }))(
      routeEvent('token', { clientId }),
    );
    expect(answer.status).toBe(503);
    expect(answer.body.error?.code).toBe('CredentialsUnavailable');
    expect(answer.body.error?.message).toMatch(/Secrets Manager failed reading secret/);
    expect(answer.headers['Retry-After']).toBe('1');
    expect(world.simulator.identityCalls(clientId)).toBe(0);
    expect((await world.store().get(clientId))?.lastError?.code).toBe('CredentialsUnavailable');
  });

  test('serves the stored token while Secrets Manager is down', async ({ world, credentials }) => {
    const clientId = world.newClient('secret-fault');
    const first = await makeVendor(world).getToken(clientId);
    world.secrets.setDown(true);
    const answer = await apiCaller(makeVendor(world, { credentials: credentials() }))(
      routeEvent('token', { clientId }),
    );
    expect(answer.status).toBe(200);
    expect(answer.body.accessToken).toBe(first.accessToken);
  });

  test('answers 503 CredentialsUnavailable with Retry-After 2 when Secrets Manager throttles', async ({
    world,
    credentials,
  }) => {
    const clientId = world.newClient('secret-fault');
    world.secrets.failNext('GetSecretValue', 'ThrottlingException', 5);
    const answer = await apiCaller(makeVendor(world, { credentials: credentials() }))(
      routeEvent('token', { clientId }),
    );
    expect(answer.status).toBe(503);
    expect(answer.body.error?.code).toBe('CredentialsUnavailable');
    expect(answer.headers['Retry-After']).toBe('2');
    world.secrets.failNext('GetSecretValue', 'ThrottlingException', 0);
  });
});

describe('Secrets Manager content faults', () => {
  test('answers 404 UnknownClient naming the missing secret, with no Identity call', async ({
    world,
    credentials,
  }) => {
    const clientId = `never-registered-${randomUUID()}`;
    const answer = await apiCaller(makeVendor(world, { credentials: credentials() }))(
      routeEvent('token', { clientId }),
    );
    expect(answer.status).toBe(404);
    expect(answer.body.error?.code).toBe('UnknownClient');
    expect(answer.body.error?.message).toContain(`${PREFIX}${clientId}`);
    expect(world.simulator.identityCalls(clientId)).toBe(0);
  });

  test('answers 502 CredentialsMisconfigured without quoting a secret that is not JSON', async ({
    world,
    credentials,
  }) => {
    const clientId = `not-json-${randomUUID()}`;
    const raw = `client_secret=plain-text-secret-${randomUUID()}`;
    registerSensitive(raw);
    world.secrets.putRawSecret(`${PREFIX}${clientId}`, { secretString: raw });
    const answer = await apiCaller(makeVendor(world, { credentials: credentials() }))(
      routeEvent('token', { clientId }),
    );
    expect(answer.status).toBe(502);
    expect(answer.body.error?.code).toBe('CredentialsMisconfigured');
    expect(answer.body.error?.message).toMatch(/not valid JSON/);
    expect(answer.body.error?.message).not.toContain('plain-text-secret');
  });

  test.for(['clientSecret', 'identityUrl', 'clientId'])(
    'answers 502 CredentialsMisconfigured naming the missing field %s',
    async (field, { world, credentials }) => {
      const clientId = `missing-field-${randomUUID()}`;
      const record: Record<string, string> = {
        clientId,
        clientSecret: `secret-${randomUUID()}`,
        identityUrl: world.simulator.identityUrl,
      };
      registerSensitive(record.clientSecret);
      delete record[field];
      world.secrets.putRawSecret(`${PREFIX}${clientId}`, { secretString: JSON.stringify(record) });
      const answer = await apiCaller(makeVendor(world, { credentials: credentials() }))(
        routeEvent('token', { clientId }),
      );
      expect(answer.status).toBe(502);
      expect(answer.body.error?.code).toBe('CredentialsMisconfigured');
      expect(answer.body.error?.message).toContain(`"${field}"`);
      expect(world.simulator.identityCalls(clientId)).toBe(0);
    },
  );
});

describe('identityUrl off the allowlist or not https (SSRF)', () => {
  test.for([
    ['a host off the allowlist', 'https://metadata.invalid/identity', /not on the allowlist/],
    [
      'a look-alike host',
      'https://123-abc-456.mktorest.com.attacker.invalid/identity',
      /not on the allowlist/,
    ],
    [
      'plain http to the instance metadata address',
      'http://169.254.169.254/latest/meta-data',
      /must use https/,
    ],
    ['plain http to loopback without the local-mode switch', 'http://127.0.0.1:9/identity', /must use https/],
    ['user info in the URL', 'https://user:pass@123-abc-456.mktorest.com/identity', /user info/],
  ] as const)(
    'refuses %s with 502 CredentialsMisconfigured and sends nothing',
    async ([, identityUrl, reason], { world, credentials }) => {
      const clientId = `ssrf-${randomUUID()}`;
      const clientSecret = `ssrf-secret-${randomUUID()}`;
      world.secrets.putClientSecret({ clientId, clientSecret, identityUrl });
      const guard = new LoopbackOnlyIdentity();
      const vendor = makeVendor(world, {
        identity: guard,
        credentials: credentials(),
        config: { identityUrlPolicy: { allowedHosts: ['*.mktorest.com', '127.0.0.1'] } },
      });
      const answer = await apiCaller(vendor)(routeEvent('token', { clientId }));
      expect(answer.status).toBe(502);
      expect(answer.body.error?.code).toBe('CredentialsMisconfigured');
      expect(answer.body.error?.message).toMatch(reason);
      expect(guard.urls).toEqual([]);
    },
  );
});

describe('secret rotated while a token is cached', () => {
  test('keeps serving the cached token with no Identity call and no secret read', async ({
    world,
    credentials,
  }) => {
    const clientId = world.newClient('secret-fault');
    const first = await makeVendor(world).getToken(clientId);
    const callsAfterWarmUp = world.simulator.identityCalls(clientId);
    const rotated = `rotated-secret-${randomUUID()}`;
    world.simulator.setClientSecret(clientId, rotated);
    world.secrets.putClientSecret({
      clientId,
      clientSecret: rotated,
      identityUrl: world.simulator.identityUrl,
    });
    world.secrets.resetCalls();
    const answer = await apiCaller(makeVendor(world, { credentials: credentials() }))(
      routeEvent('token', { clientId }),
    );
    expect(answer.status).toBe(200);
    expect(answer.body.accessToken).toBe(first.accessToken);
    expect(world.simulator.identityCalls(clientId) - callsAfterWarmUp).toBe(0);
    expect(world.secrets.calls('GetSecretValue')).toBe(0);
  });

  test('re-reads the rotated secret once when Identity rejects the cached one at the next expiry', async ({
    world,
    credentials,
  }) => {
    const clientId = world.newClient('secret-fault');
    const vendor = makeVendor(world, { credentials: credentials(10 * HOUR_MS) });
    const first = await vendor.getToken(clientId);
    const rotated = `rotated-secret-${randomUUID()}`;
    world.simulator.setClientSecret(clientId, rotated);
    world.secrets.putClientSecret({
      clientId,
      clientSecret: rotated,
      identityUrl: world.simulator.identityUrl,
    });
    world.secrets.resetCalls();
    world.clock.offsetMs = HOUR_MS + 5_000;
    const next = await vendor.getToken(clientId);
    expect(next.accessToken).not.toBe(first.accessToken);
    expect(next.expiresInSeconds).toBeGreaterThan(3_500);
    expect(world.simulator.identityCalls(clientId)).toBe(3);
    expect(world.secrets.calls('GetSecretValue')).toBe(1);
  });
});
