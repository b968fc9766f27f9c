import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  RestoreSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerCredentials } from '../../functions/adapters/secrets-manager-credentials.js';
import {
  CredentialsMisconfiguredError,
  CredentialsUnavailableError,
  UnknownClientError,
} from '../../functions/core/errors.js';
import type { ClientCredentials } from '../../functions/core/ports.js';
import { registerSensitive, captureError as rejection } from '../../testing/leak-scan.js';
import { type SecretsManagerStub, startSecretsManagerStub } from '../../testing/secrets-manager-stub.js';

const PREFIX = 'marketo-token-vendor/clients/';
const SECRET = 'super-secret-value-do-not-leak';
registerSensitive(SECRET);

const credentials = (clientId: string, extra: Partial<ClientCredentials> = {}): ClientCredentials => ({
  clientId,
  clientSecret: `${SECRET}-${clientId}`,
  identityUrl: 'https://123-ABC-456.mktorest.com/identity',
  ...extra,
});

describe('SecretsManagerCredentials (against the Secrets Manager stub)', () => {
  let stub: SecretsManagerStub;
  let now: number;
  let source: SecretsManagerCredentials;

  beforeAll(async () => {
    stub = await startSecretsManagerStub({ clientConfig: { maxAttempts: 1 } });
  });
  afterAll(async () => {
    await stub.stop();
  });
  beforeEach(() => {
    stub.resetCalls();
    now = 1_000_000;
    source = new SecretsManagerCredentials({ client: stub.client, cacheTtlMs: 60_000, now: () => now });
  });

  describe('get', () => {
    it('reads and parses the client secret named prefix + clientId', async () => {
      stub.putClientSecret(credentials('get-1', { instance: '123-ABC-456' }));

      const result = await source.get('get-1');

      // changedAt: the current version's creation, the same instant the listing calls the secret's last change.
      const listed = (await source.list()).find((client) => client.clientId === 'get-1');
      expect(listed?.changedAt).toEqual(expect.any(Number));
      expect(result).toEqual({
        ...credentials('get-1', { instance: '123-ABC-456' }),
        changedAt: listed?.changedAt,
      });
    });

    it('serves repeated gets within the cache TTL from memory with one call', async () => {
      stub.putClientSecret(credentials('cache-1'));

      await source.get('cache-1');
      now += 59_000;
      await source.get('cache-1');

      expect(stub.calls('GetSecretValue')).toBe(1);
    });

    it('shares one in-flight request between concurrent gets of one client', async () => {
      stub.putClientSecret(credentials('flight-1'));

      const results = await Promise.all(Array.from({ length: 20 }, () => source.get('flight-1')));

      expect(new Set(results.map((r) => r.clientSecret)).size).toBe(1);
      expect(stub.calls('GetSecretValue')).toBe(1);
    });

    it('reads again once the cache TTL has passed', async () => {
      stub.putClientSecret(credentials('ttl-1'));
      await source.get('ttl-1');

      now += 60_000;
      await source.get('ttl-1');

      expect(stub.calls('GetSecretValue')).toBe(2);
    });

    it('re-reads on bypassCache and refreshes the cache with the rotated secret', async () => {
      stub.putClientSecret(credentials('rotate-1'));
      await source.get('rotate-1');
      stub.putClientSecret({ ...credentials('rotate-1'), clientSecret: 'rotated' });

      const bypassed = await source.get('rotate-1', { bypassCache: true });
      const cached = await source.get('rotate-1');

      expect(bypassed.clientSecret).toBe('rotated');
      expect(cached.clientSecret).toBe('rotated');
      expect(stub.calls('GetSecretValue')).toBe(2);
    });

    it('lets concurrent bypassCache gets share one fresh read', async () => {
      stub.putClientSecret(credentials('bypass-flight-1'));
      await source.get('bypass-flight-1');

      await Promise.all(
        Array.from({ length: 10 }, () => source.get('bypass-flight-1', { bypassCache: true })),
      );

      expect(stub.calls('GetSecretValue')).toBe(2);
    });

    it('does not let a bypassCache get join an ordinary read already in flight', async () => {
      stub.putClientSecret(credentials('bypass-flight-2'));

      await Promise.all([
        source.get('bypass-flight-2'),
        source.get('bypass-flight-2', { bypassCache: true }),
      ]);

      expect(stub.calls('GetSecretValue')).toBe(2);
    });

    it('throws UnknownClientError naming the client and secret when the secret does not exist', async () => {
      const error = await rejection(() => source.get('nobody'));

      expect(error).toBeInstanceOf(UnknownClientError);
      expect(error.message).toBe(
        `no credentials registered for client "nobody" (secret ${PREFIX}nobody not found)`,
      );
    });

    it('remembers an unregistered client id for 30 s: a flood of requests costs one read', async () => {
      for (let i = 0; i < 20; i += 1) await rejection(() => source.get('flood-1'));
      expect(stub.calls('GetSecretValue')).toBe(1);
      now += 30_000;
      await rejection(() => source.get('flood-1'));
      expect(stub.calls('GetSecretValue')).toBe(2);
    });

    it('finds a client registered after it was remembered as unknown, once the period is over or on a bypass', async () => {
      await rejection(() => source.get('late-1'));
      stub.putClientSecret(credentials('late-1'));
      await expect(source.get('late-1', { bypassCache: true })).resolves.toMatchObject({
        clientId: 'late-1',
      });
      await expect(source.get('late-1')).resolves.toMatchObject({ clientId: 'late-1' });
    });

    it('throws UnknownClientError when the secret is scheduled for deletion', async () => {
      stub.putClientSecret(credentials('deleting-1'));
      await stub.client.send(
        new DeleteSecretCommand({ SecretId: `${PREFIX}deleting-1`, RecoveryWindowInDays: 7 }),
      );

      const error = await rejection(() => source.get('deleting-1'));

      expect(error).toBeInstanceOf(UnknownClientError);
    });

    it('throws CredentialsMisconfiguredError when the secret is not JSON, without echoing it', async () => {
      stub.putRawSecret(`${PREFIX}notjson-1`, { secretString: `clientSecret=${SECRET}` });

      const error = await rejection(() => source.get('notjson-1'));

      expect(error).toBeInstanceOf(CredentialsMisconfiguredError);
      expect(error.message).toBe(`secret ${PREFIX}notjson-1: value is not valid JSON`);
    });

    it('names the missing field but not any value when a field is missing', async () => {
      const { identityUrl: _omitted, ...partial } = credentials('partial-1');
      stub.putRawSecret(`${PREFIX}partial-1`, { secretString: JSON.stringify(partial) });

      const error = await rejection(() => source.get('partial-1'));

      expect(error).toBeInstanceOf(CredentialsMisconfiguredError);
      expect(error.message).toContain('"identityUrl"');
      expect(error.message).not.toContain(SECRET);
    });

    it('throws CredentialsMisconfiguredError for a binary-only secret', async () => {
      stub.putRawSecret(`${PREFIX}binary-1`, { secretBinary: Buffer.from('x').toString('base64') });

      const error = await rejection(() => source.get('binary-1'));

      expect(error).toBeInstanceOf(CredentialsMisconfiguredError);
      expect(error.message).toContain('SecretString');
    });

    it('maps throttling to CredentialsUnavailableError naming the SDK error', async () => {
      stub.putClientSecret(credentials('throttle-1'));
      stub.failNext('GetSecretValue', 'ThrottlingException', 1);

      const error = await rejection(() => source.get('throttle-1'));

      expect(error).toBeInstanceOf(CredentialsUnavailableError);
      expect(error.message).toBe(
        `Secrets Manager failed reading secret ${PREFIX}throttle-1: ThrottlingException`,
      );
    });

    it('maps AccessDenied and KMS failures to CredentialsUnavailableError', async () => {
      stub.putClientSecret(credentials('denied-1'));
      stub.failNext('GetSecretValue', 'AccessDeniedException', 1);
      const denied = await rejection(() => source.get('denied-1'));
      stub.failNext('GetSecretValue', 'DecryptionFailure', 1);

      const kms = await rejection(() => source.get('denied-1'));

      expect(denied).toBeInstanceOf(CredentialsUnavailableError);
      expect(kms).toBeInstanceOf(CredentialsUnavailableError);
      expect(kms.message).toContain('DecryptionFailure');
    });

    it('maps an unreachable endpoint to CredentialsUnavailableError and recovers afterwards', async () => {
      // Default SDK retries: a keep-alive socket killed while "down" may be reused once after recovery.
      const retrying = stub.createClient({ maxAttempts: 3 });
      const retryingSource = new SecretsManagerCredentials({ client: retrying });
      stub.putClientSecret(credentials('down-1'));
      stub.setDown(true);

      const error = await rejection(() => retryingSource.get('down-1'));
      stub.setDown(false);
      const recovered = await retryingSource.get('down-1');
      retrying.destroy();

      expect(error).toBeInstanceOf(CredentialsUnavailableError);
      expect(recovered.clientId).toBe('down-1');
    });

    it('does not cache a failure: the next get reads again', async () => {
      stub.putClientSecret(credentials('retry-1'));
      stub.failNext('GetSecretValue', 'InternalServiceError', 1);
      await rejection(() => source.get('retry-1'));

      const result = await source.get('retry-1');

      expect(result.clientId).toBe('retry-1');
      expect(stub.calls('GetSecretValue')).toBe(2);
    });

    it('lets the SDK retry a single throttle with default retries', async () => {
      const retrying = stub.createClient({ maxAttempts: 3 });
      const retryingSource = new SecretsManagerCredentials({ client: retrying });
      stub.putClientSecret(credentials('sdk-retry-1'));
      stub.failNext('GetSecretValue', 'ThrottlingException', 1);

      const result = await retryingSource.get('sdk-retry-1');
      retrying.destroy();

      expect(result.clientId).toBe('sdk-retry-1');
      expect(stub.calls('GetSecretValue')).toBe(2);
    });
  });

  describe('list', () => {
    let listStub: SecretsManagerStub;
    let listSource: SecretsManagerCredentials;

    beforeAll(async () => {
      listStub = await startSecretsManagerStub({ defaultPageSize: 20, clientConfig: { maxAttempts: 1 } });
      listSource = new SecretsManagerCredentials({ client: listStub.client });
      // 45 clients in reverse order: three pages, and the result must still come back sorted.
      for (let i = 44; i >= 0; i -= 1) {
        const id = `client-${String(i).padStart(2, '0')}`;
        listStub.putClientSecret(credentials(id), i % 3 === 0 ? { instance: `inst-${i % 2}` } : {});
      }
      listStub.putRawSecret('other-app/secret', { secretString: '{}' });
      listStub.putRawSecret(`${PREFIX}bad id with spaces`, { secretString: '{}' });
      listStub.putRawSecret(`${PREFIX.toUpperCase()}shouty`, { secretString: '{}' });
    });
    afterAll(async () => {
      await listStub.stop();
    });
    beforeEach(() => {
      listStub.resetCalls();
    });

    it('returns every registered client across several pages, sorted by clientId', async () => {
      const clients = await listSource.list();

      expect(clients.map((c) => c.clientId)).toEqual(
        Array.from({ length: 45 }, (_, i) => `client-${String(i).padStart(2, '0')}`),
      );
      expect(listStub.calls('ListSecrets')).toBe(3);
    });

    it('reads each client instance from its tag without reading any secret', async () => {
      const clients = await listSource.list();

      expect(clients.find((c) => c.clientId === 'client-03')).toEqual({
        clientId: 'client-03',
        instance: 'inst-1',
        changedAt: expect.any(Number),
      });
      expect(clients.find((c) => c.clientId === 'client-04')).toEqual({
        clientId: 'client-04',
        changedAt: expect.any(Number),
      });
      expect(listStub.calls('GetSecretValue')).toBe(0);
    });

    it('lists one pool’s members with one filtered call, without listing every client', async () => {
      const members = await listSource.listInstance('inst-1');

      expect(members.map((c) => c.clientId)).toEqual([
        'client-03',
        'client-09',
        'client-15',
        'client-21',
        'client-27',
        'client-33',
        'client-39',
      ]);
      expect(members.every((c) => c.instance === 'inst-1')).toBe(true);
      expect(listStub.calls('ListSecrets')).toBe(1);
    });

    it('reports when each secret last changed (its LastChangedDate), which ends a rejected client’s back-off', async () => {
      const { LastChangedDate } = await listStub.client.send(
        new DescribeSecretCommand({ SecretId: `${PREFIX}client-07` }),
      );
      const clients = await listSource.list();

      expect(clients.find((c) => c.clientId === 'client-07')?.changedAt).toBe(LastChangedDate?.getTime());
    });

    it('lists the same clients, with the same change dates, through the stub’s in-process client', async () => {
      const inProcess = new SecretsManagerCredentials({ client: listStub.inProcessClient() });

      expect(await inProcess.list()).toEqual(await listSource.list());
    });

    it('skips names outside the exact prefix and names that are not valid client ids', async () => {
      const ids = (await listSource.list()).map((c) => c.clientId);

      expect(ids).not.toContain('bad id with spaces');
      expect(ids).not.toContain('shouty');
      expect(ids).toHaveLength(45);
    });

    it('skips secrets scheduled for deletion even when the service returns them', async () => {
      await listStub.client.send(
        new CreateSecretCommand({
          Name: `${PREFIX}zz-deleted`,
          SecretString: JSON.stringify(credentials('zz-deleted')),
        }),
      );
      await listStub.client.send(new DeleteSecretCommand({ SecretId: `${PREFIX}zz-deleted` }));
      listStub.setListIncludesDeleted(true);

      const ids = (await listSource.list()).map((c) => c.clientId);
      listStub.setListIncludesDeleted(false);
      await listStub.client.send(new RestoreSecretCommand({ SecretId: `${PREFIX}zz-deleted` }));
      const restored = (await listSource.list()).map((c) => c.clientId);
      await listStub.client.send(
        new DeleteSecretCommand({ SecretId: `${PREFIX}zz-deleted`, ForceDeleteWithoutRecovery: true }),
      );

      expect(ids).not.toContain('zz-deleted');
      expect(restored).toContain('zz-deleted');
    });

    it('maps a failing ListSecrets to CredentialsUnavailableError', async () => {
      listStub.failNext('ListSecrets', 'ThrottlingException', 1);

      const error = await rejection(() => listSource.list());

      expect(error).toBeInstanceOf(CredentialsUnavailableError);
    });
  });
});
