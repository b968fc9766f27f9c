import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { LightReadTokenStore } from '../../functions/adapters/light-read-token-store.js';
import { environmentCredentials, SignedGetItem } from '../../functions/adapters/signed-get-item.js';
import { buildVendTokenStore } from '../../functions/aws-vendor.js';
import { createTestTable, type RunningDynalite, startDynalite } from '../../testing/dynalite.js';

const NOW = 1_750_000_000_000;
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('the vend function’s hit-path read: a signed GetItem (against dynalite)', () => {
  let db: RunningDynalite;
  let tableName: string;
  let sdkStore: DynamoTokenStore;

  beforeAll(async () => {
    db = await startDynalite();
    tableName = await createTestTable(db.client);
    sdkStore = new DynamoTokenStore({ client: db.client, tableName, now: () => NOW });
    await sdkStore.acquireLease('c1', undefined, { owner: 'me', leaseUntil: NOW + 15_000 }, 2_000_000_000);
    await sdkStore.completeLease(
      'c1',
      'me',
      {
        token: { accessToken: 'tok:ab', tokenType: 'bearer', expiresAt: NOW + 3_600_000, obtainedAt: NOW },
        refreshAt: NOW + 3_600_250,
        instance: 'acme',
      },
      2_000_000_000,
    );
  });
  afterAll(async () => {
    await db.stop();
  });

  const reader = (options: { table?: string; endpoint?: string } = {}) =>
    new SignedGetItem({
      tableName: options.table ?? tableName,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      endpoint: options.endpoint ?? db.endpoint,
      random: () => 0,
    });

  it('reads the record the SDK’s store reads, strongly or eventually consistent', async () => {
    const store = new LightReadTokenStore(reader(), () => Promise.reject(new Error('no write here')));
    const expected = await sdkStore.get('c1');
    expect(await store.get('c1')).toEqual(expected);
    expect(await store.get('c1', { consistent: false })).toEqual(expected);
  });

  it('answers undefined for a client with no item', async () => {
    const store = new LightReadTokenStore(reader(), () => Promise.reject(new Error('no write here')));
    expect(await store.get('nobody')).toBeUndefined();
  });

  it('names a service error as the SDK would, without quoting the response', async () => {
    await expect(
      reader({ table: 'no-such-table' }).get({ clientId: { S: 'c1' } }, true),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'DynamoDB GetItem: ResourceNotFoundException (HTTP 400)',
    });
  });

  it('fails as a network error when nothing listens, after its second attempt', async () => {
    await expect(
      reader({ endpoint: 'http://127.0.0.1:9' }).get({ clientId: { S: 'c1' } }, true),
    ).rejects.toMatchObject({
      name: 'NetworkError',
    });
  });

  it('loads the full store on the first write only, and once', async () => {
    let loads = 0;
    const store = new LightReadTokenStore(reader(), async () => {
      loads += 1;
      return sdkStore;
    });
    await store.get('c1');
    expect(loads).toBe(0);
    const record = await store.get('c1');
    await store.scheduleRefresh('c1', NOW + 3_600_250, 2_000_000_000);
    await store.acquireLease('c1', record?.version, { owner: 'other', leaseUntil: NOW + 1 }, 2_000_000_000);
    expect(loads).toBe(1);
  });

  it('is wired from Lambda’s environment: the role’s credentials, the region, an endpoint override', async () => {
    const store = buildVendTokenStore(tableName, {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_SESSION_TOKEN: 'session',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    });
    expect(await store.get('c1')).toEqual(await sdkStore.get('c1'));
    expect(environmentCredentials({ AWS_ACCESS_KEY_ID: 'a' })).toBeUndefined();
  });
});
