import { randomUUID } from 'node:crypto';
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { INSTANCE_TAG } from '../../functions/adapters/secrets-manager-credentials.js';
import { createMarketoSimulator, type MarketoSimulator } from '../../local/marketo-simulator.js';
import { createTestTable, type RunningDynalite, startDynalite } from '../../testing/dynalite.js';
import { registerSensitive } from '../../testing/leak-scan.js';
import { type SecretsManagerStub, startSecretsManagerStub } from '../../testing/secrets-manager-stub.js';
import { cliRunner, stubDummyAwsCredentials } from './helpers.js';

const PREFIX = 'marketo-token-vendor/clients/';

describe('clients commands against Secrets Manager and DynamoDB (loopback stub and dynalite)', () => {
  let secrets: SecretsManagerStub;
  let dynamo: RunningDynalite;
  let simulator: MarketoSimulator;
  let tableName: string;
  const secret = `sm-secret-${randomUUID()}`;
  const rotated = `sm-rotated-${randomUUID()}`;
  const sensitive = () => [secret, rotated, ...simulator.issuedTokens()];
  let cli: ReturnType<typeof cliRunner>;

  const secretValue = async (clientId: string) =>
    JSON.parse(
      (await secrets.client.send(new GetSecretValueCommand({ SecretId: `${PREFIX}${clientId}` })))
        .SecretString ?? '',
    ) as Record<string, unknown>;
  const describeSecret = (clientId: string) =>
    secrets.client.send(new DescribeSecretCommand({ SecretId: `${PREFIX}${clientId}` }));

  beforeAll(async () => {
    registerSensitive(secret, rotated);
    [secrets, dynamo] = await Promise.all([startSecretsManagerStub(), startDynalite()]);
    tableName = await createTestTable(dynamo.client);
    simulator = createMarketoSimulator({ clients: [{ clientId: 'crm-sync', clientSecret: secret }] });
    await simulator.start();
    cli = cliRunner(
      [
        '--region',
        'us-east-1',
        '--endpoint-secrets-manager',
        secrets.endpoint,
        '--endpoint-dynamodb',
        dynamo.endpoint,
        '--table',
        tableName,
        '--allow-loopback',
      ],
      sensitive,
    );
  });

  beforeEach(() => {
    secrets.resetCalls();
    return stubDummyAwsCredentials();
  });

  afterAll(async () => {
    registerSensitive(...simulator.issuedTokens());
    await Promise.all([secrets.stop(), dynamo.stop(), simulator.stop()]);
  });

  describe('add', () => {
    it('creates the secret with the expected JSON shape', async () => {
      const run = await cli(
        [
          'clients',
          'add',
          'crm-sync',
          '--identity-url',
          `${simulator.identityUrl}/`,
          '--rest-url',
          simulator.restUrl,
          '--instance',
          '123-ABC-456',
          '--secret-stdin',
        ],
        { stdin: `${secret}\n` },
      );

      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`created secret ${PREFIX}crm-sync (instance 123-ABC-456)`);
      expect(await secretValue('crm-sync')).toEqual({
        clientId: 'crm-sync',
        clientSecret: secret,
        identityUrl: simulator.identityUrl,
        restUrl: simulator.restUrl,
        instance: '123-ABC-456',
      });
    });

    it('tags the secret with its instance and as managed by the CLI', async () => {
      const { Tags } = await describeSecret('crm-sync');

      expect(Tags).toEqual(
        expect.arrayContaining([
          { Key: INSTANCE_TAG, Value: '123-ABC-456' },
          { Key: 'managed-by', Value: 'marketo-token-vendor-cli' },
        ]),
      );
    });

    it('updates an existing secret with PutSecretValue and TagResource', async () => {
      simulator.setClientSecret('crm-sync', rotated);

      const run = await cli(
        [
          'clients',
          'add',
          'crm-sync',
          '--identity-url',
          simulator.identityUrl,
          '--instance',
          'pool-2',
          '--secret-stdin',
        ],
        { stdin: rotated },
      );

      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`updated secret ${PREFIX}crm-sync (instance pool-2)`);
      expect([
        secrets.calls('CreateSecret'),
        secrets.calls('PutSecretValue'),
        secrets.calls('TagResource'),
      ]).toEqual([1, 1, 1]);
      expect(await secretValue('crm-sync')).toMatchObject({ clientSecret: rotated, instance: 'pool-2' });
      expect((await describeSecret('crm-sync')).Tags).toContainEqual({ Key: INSTANCE_TAG, Value: 'pool-2' });
    });

    it('leaves Secrets Manager untouched when Identity rejects the secret', async () => {
      const run = await cli(
        ['clients', 'add', 'crm-sync', '--identity-url', simulator.identityUrl, '--secret-stdin'],
        { stdin: secret },
      );

      expect(run.code).toBe(1);
      expect(run.stderr).toContain('nothing was saved');
      expect(secrets.calls('CreateSecret') + secrets.calls('PutSecretValue')).toBe(0);
    });
  });

  describe('status, refresh and list', () => {
    it('names the missing secret and the fix for an unknown client', async () => {
      const run = await cli(['clients', 'status', 'ghost']);

      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`error: secret ${PREFIX}ghost not found — run clients add ghost\n`);
    });

    it('refreshes through the core and stores the token in the table', async () => {
      const run = await cli(['clients', 'refresh', 'crm-sync']);

      expect(run.code).toBe(0);
      const record = await new DynamoTokenStore({ client: dynamo.client, tableName }).get('crm-sync');
      expect(record?.token?.accessToken).toBe(simulator.currentToken('crm-sync')?.accessToken);
    });

    it('lists the client from the secret list and the table', async () => {
      const run = await cli(['clients', 'list', '--json']);

      expect(JSON.parse(run.stdout)).toEqual([
        expect.objectContaining({ clientId: 'crm-sync', instance: 'pool-2', status: 'valid' }),
      ]);
    });

    it('asks for the table when neither --table nor TABLE_NAME is set (exit code 2)', async () => {
      const noTable = cliRunner(
        ['--region', 'us-east-1', '--endpoint-secrets-manager', secrets.endpoint],
        sensitive,
      );

      const run = await noTable(['clients', 'list']);

      expect(run.code).toBe(2);
      expect(run.stderr).toContain('no token table — pass --table <name> or set TABLE_NAME');
    });

    it('honours AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL_DYNAMODB through the SDK itself', async () => {
      vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secrets.endpoint);
      vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
      vi.stubEnv('AWS_REGION', 'us-east-1');
      const fromEnv = cliRunner([], sensitive, { TABLE_NAME: tableName });

      const run = await fromEnv(['clients', 'status', 'crm-sync']);

      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^status\s+valid$/m);
      expect(secrets.calls('GetSecretValue')).toBe(1);
    });
  });

  describe('remove', () => {
    it('schedules the secret for deletion with a 7-day recovery window and deletes the cached token', async () => {
      const run = await cli(['clients', 'remove', 'crm-sync', '--yes']);

      expect(run.code).toBe(0);
      const deletion = /scheduled for deletion on (\S+);/.exec(run.stdout)?.[1] ?? '';
      expect(Date.parse(deletion) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
      expect(Date.parse(deletion) - Date.now()).toBeLessThan(7.1 * 86_400_000);
      expect(run.stdout).toContain(`aws secretsmanager restore-secret --secret-id ${PREFIX}crm-sync`);
      expect((await describeSecret('crm-sync')).DeletedDate).toBeInstanceOf(Date);
      expect(
        await new DynamoTokenStore({ client: dynamo.client, tableName }).get('crm-sync'),
      ).toBeUndefined();
    });

    it('explains how to restore a secret scheduled for deletion when adding it again', async () => {
      const run = await cli(
        [
          'clients',
          'add',
          'crm-sync',
          '--identity-url',
          simulator.identityUrl,
          '--secret-stdin',
          '--no-verify',
        ],
        { stdin: rotated },
      );

      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`secret ${PREFIX}crm-sync is scheduled for deletion — restore it first`);
    });

    it('deletes at once with --force-delete-without-recovery', async () => {
      await cli(
        [
          'clients',
          'add',
          'temp-sync',
          '--identity-url',
          simulator.identityUrl,
          '--secret-stdin',
          '--no-verify',
        ],
        { stdin: rotated },
      );

      const run = await cli(['clients', 'remove', 'temp-sync', '--yes', '--force-delete-without-recovery']);

      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`secret ${PREFIX}temp-sync deleted without recovery`);
      await expect(describeSecret('temp-sync')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    });

    it('refuses a recovery window outside 7-30 days (exit code 2)', async () => {
      const run = await cli(['clients', 'remove', 'crm-sync', '--yes', '--recovery-window-days', '3']);

      expect(run.code).toBe(2);
      expect(run.stderr).toContain('must be a whole number from 7 to 30');
    });
  });
});
