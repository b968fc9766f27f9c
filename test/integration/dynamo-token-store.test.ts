import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoRefreshIndex } from '../../functions/adapters/dynamo-refresh-index.js';
import { DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { itemToRecord } from '../../functions/adapters/token-item.js';
import type { StoredToken, TokenRecord } from '../../functions/core/ports.js';
import { createTestTable, type RunningDynalite, startDynalite } from '../../testing/dynalite.js';

const NOW = 1_750_000_000_000;
const token = (suffix: string, expiresAt = NOW + 3_600_000): StoredToken => ({
  accessToken: `tok-${suffix}:ab`,
  tokenType: 'bearer',
  scope: 'apis@example.com',
  expiresAt,
  obtainedAt: NOW,
});
const lease = (owner: string) => ({ owner, leaseUntil: NOW + 15_000 });

describe('itemToRecord', () => {
  const FIELDS = {
    accessToken: { S: 'tok:ab' },
    tokenType: { S: 'bearer' },
    scope: { S: 'apis@example.com' },
    expiresAt: { N: '2' },
    obtainedAt: { N: '1' },
    leaseOwner: { S: 'owner' },
    leaseUntil: { N: '3' },
    lastErrorCode: { S: 'IdentityUnavailable' },
    lastErrorMessage: { S: 'timeout' },
    lastErrorAt: { N: '4' },
    version: { N: '7' },
  };

  it('maps any subset of fields to a whole token, lease and error or none of each (never half)', () => {
    fc.assert(
      fc.property(fc.subarray(Object.keys(FIELDS) as (keyof typeof FIELDS)[]), (present) => {
        const item = { clientId: { S: 'c' }, ...Object.fromEntries(present.map((k) => [k, FIELDS[k]])) };
        const has = (...keys: (keyof typeof FIELDS)[]) => keys.every((k) => present.includes(k));

        const record = itemToRecord(item);

        expect(record?.version).toBe(has('version') ? 7 : 0);
        expect(record?.token !== undefined).toBe(has('accessToken', 'tokenType', 'expiresAt', 'obtainedAt'));
        expect(record?.lease !== undefined).toBe(has('leaseOwner', 'leaseUntil'));
        expect(record?.lastError !== undefined).toBe(has('lastErrorCode', 'lastErrorAt'));
      }),
    );
  });

  it('treats a field of the wrong type as missing', () => {
    const record = itemToRecord({
      clientId: { S: 'c' },
      ...FIELDS,
      expiresAt: { S: 'soon' },
      version: { S: '7' },
    });

    expect(record).toMatchObject({ clientId: 'c', version: 0 });
    expect(record?.token).toBeUndefined();
  });
});

describe('DynamoTokenStore (against dynalite)', () => {
  let db: RunningDynalite;
  let store: DynamoTokenStore;
  let tableName: string;

  const rawItem = async (clientId: string) =>
    (
      await db.client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { clientId: { S: clientId } },
          ConsistentRead: true,
        }),
      )
    ).Item;

  /** Takes and completes a lease so the client holds `t`; returns the record after the write. */
  const seedToken = async (clientId: string, t: StoredToken, ttl: number): Promise<TokenRecord> => {
    await store.acquireLease(clientId, undefined, lease('seed'), ttl);
    await store.completeLease(clientId, 'seed', { token: t }, ttl);
    const record = await store.get(clientId);
    if (!record) throw new Error('seed failed');
    return record;
  };

  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => {
    await db.stop();
  });
  beforeEach(async () => {
    tableName = await createTestTable(db.client);
    store = new DynamoTokenStore({ client: db.client, tableName, now: () => NOW });
  });

  describe('get', () => {
    it('returns undefined for a client with no item', async () => {
      expect(await store.get('nobody')).toBeUndefined();
    });

    it('maps an item written by an older version (no version, half a token, half a lease) safely', async () => {
      await db.client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            clientId: { S: 'old' },
            accessToken: { S: 'orphan:ab' },
            expiresAt: { N: String(NOW + 1000) },
            leaseOwner: { S: 'someone' },
          },
        }),
      );

      const record = await store.get('old');

      expect(record).toEqual({ clientId: 'old', version: 0 });
    });
  });

  describe('acquireLease', () => {
    it('creates the item with version 1 and the lease when the client has no item', async () => {
      const record = await store.acquireLease('c1', undefined, lease('me'), 2_000_000_000);

      expect(record).toEqual({ clientId: 'c1', version: 1, lease: lease('me') });
      const item = await rawItem('c1');
      expect(item?.ttl).toEqual({ N: '2000000000' });
      expect(item?.updatedAt).toEqual({ N: String(NOW) });
    });

    it('returns undefined when the item already exists but the caller expected none', async () => {
      await store.acquireLease('c1', undefined, lease('first'), 2_000_000_000);

      const second = await store.acquireLease('c1', undefined, lease('second'), 2_000_000_000);

      expect(second).toBeUndefined();
      expect((await store.get('c1'))?.lease?.owner).toBe('first');
    });

    it('returns undefined when the version has moved on (compare-and-swap conflict)', async () => {
      await store.acquireLease('c1', undefined, lease('first'), 2_000_000_000);

      const stale = await store.acquireLease('c1', 0, lease('stale'), 2_000_000_000);

      expect(stale).toBeUndefined();
    });

    it('lets exactly one of two acquirers on the same version win', async () => {
      const seeded = await seedToken('c1', token('a'), 2_000_000_000);

      const [a, b] = await Promise.all([
        store.acquireLease('c1', seeded.version, lease('a'), 2_000_000_000),
        store.acquireLease('c1', seeded.version, lease('b'), 2_000_000_000),
      ]);

      expect([a, b].filter((r) => r !== undefined)).toHaveLength(1);
      const winner = a ?? b;
      expect(winner?.version).toBe(seeded.version + 1);
      expect(winner?.token).toEqual(token('a'));
      expect((await store.get('c1'))?.lease?.owner).toBe(winner?.lease?.owner);
    });

    it('accepts expected version 0 for an older item that has no version attribute', async () => {
      await db.client.send(new PutItemCommand({ TableName: tableName, Item: { clientId: { S: 'old' } } }));

      const record = await store.acquireLease('old', 0, lease('me'), 2_000_000_000);

      expect(record).toEqual({ clientId: 'old', version: 1, lease: lease('me') });
    });

    it('never shortens the TTL of an item holding a valid token', async () => {
      const seeded = await seedToken('c1', token('a'), 2_000_000_000);

      const record = await store.acquireLease('c1', seeded.version, lease('me'), 1_900_000_000);

      expect(record?.lease?.owner).toBe('me');
      expect((await rawItem('c1'))?.ttl).toEqual({ N: '2000000000' });
    });

    it('raises the TTL when the new one is later', async () => {
      const seeded = await seedToken('c1', token('a'), 1_900_000_000);

      await store.acquireLease('c1', seeded.version, lease('me'), 2_000_000_000);

      expect((await rawItem('c1'))?.ttl).toEqual({ N: '2000000000' });
    });

    it('takes the lease in one write when its TTL equals the item’s (a refresh before the stored expiry)', async () => {
      const seeded = await seedToken('c1', token('a'), 2_000_000_000);
      let sent = 0;
      db.client.middlewareStack.add(
        (next) => (args) => {
          sent += 1;
          return next(args);
        },
        { step: 'initialize', name: 'countSends' },
      );
      try {
        const record = await store.acquireLease('c1', seeded.version, lease('me'), 2_000_000_000);

        expect(record?.lease?.owner).toBe('me');
        expect(sent).toBe(1);
      } finally {
        db.client.middlewareStack.remove('countSends');
      }
    });

    it('still reports a conflict when the TTL would not be raised and the version moved on', async () => {
      const seeded = await seedToken('c1', token('a'), 2_000_000_000);

      const stale = await store.acquireLease('c1', seeded.version - 1, lease('me'), 1_900_000_000);

      expect(stale).toBeUndefined();
      expect((await store.get('c1'))?.version).toBe(seeded.version);
    });
  });

  describe('completeLease', () => {
    it('stores the token, clears the lease and the last error, and bumps the version on success', async () => {
      const acquired = await store.acquireLease('c1', undefined, lease('me'), 2_000_000_000);
      await store.completeLease(
        'c1',
        'me',
        { error: { code: 'IdentityUnavailable', message: 'x', at: NOW } },
        1,
      );
      const again = await store.acquireLease('c1', (acquired?.version ?? 0) + 1, lease('me'), 2_000_000_000);

      const ok = await store.completeLease('c1', 'me', { token: token('new') }, 2_100_000_000);

      expect(ok).toBe(true);
      expect(await store.get('c1')).toEqual({
        clientId: 'c1',
        version: (again?.version ?? 0) + 1,
        token: token('new'),
      });
      expect((await rawItem('c1'))?.ttl).toEqual({ N: '2100000000' });
    });

    it('removes a previous scope when the new token has none', async () => {
      const seeded = await seedToken('c1', token('a'), 2_000_000_000);
      await store.acquireLease('c1', seeded.version, lease('me'), 2_000_000_000);
      const { scope: _scope, ...unscoped } = token('b');

      await store.completeLease('c1', 'me', { token: unscoped }, 2_000_000_000);

      expect((await store.get('c1'))?.token).toEqual(unscoped);
    });

    it('keeps the token and records the last error on failure', async () => {
      const seeded = await seedToken('c1', token('a'), 2_000_000_000);
      await store.acquireLease('c1', seeded.version, lease('me'), 2_000_000_000);
      const error = { code: 'CredentialsRejected', message: 'Bad client credentials', at: NOW + 5 };

      const ok = await store.completeLease('c1', 'me', { error }, 1_900_000_000);

      expect(ok).toBe(true);
      expect(await store.get('c1')).toEqual({
        clientId: 'c1',
        version: seeded.version + 2,
        token: token('a'),
        lastError: error,
      });
      expect((await rawItem('c1'))?.ttl).toEqual({ N: '2000000000' });
    });

    it('keeps token, last error and version and lets the lease lapse now when the holder is interrupted', async () => {
      const seeded = await seedToken('c1', token('a'), 2_000_000_000);
      await store.acquireLease('c1', seeded.version, lease('me'), 2_000_000_000);
      const error = { code: 'IdentityUnavailable', message: 'Identity host could not be resolved', at: NOW };
      await store.completeLease('c1', 'me', { error }, 2_000_000_000);
      const failed = await store.get('c1');
      await store.acquireLease('c1', failed?.version, lease('me'), 2_000_000_000);

      const ok = await store.completeLease('c1', 'me', { interrupted: true }, 2_000_000_000);

      expect(ok).toBe(true);
      expect(await store.get('c1')).toEqual({
        clientId: 'c1',
        version: seeded.version + 3,
        token: token('a'),
        lastError: error,
        lease: { owner: 'me', leaseUntil: NOW },
      });
    });

    it('returns false and writes nothing when the lease was taken over', async () => {
      const seeded = await seedToken('c1', token('a'), 2_000_000_000);
      await store.acquireLease('c1', seeded.version, lease('lapsed'), 2_000_000_000);
      const takenOver = await store.acquireLease('c1', seeded.version + 1, lease('successor'), 2_000_000_000);
      const before = await rawItem('c1');

      const ok = await store.completeLease('c1', 'lapsed', { token: token('late') }, 2_100_000_000);

      expect(ok).toBe(false);
      expect(await rawItem('c1')).toEqual(before);
      expect(takenOver?.lease?.owner).toBe('successor');
    });

    it('returns false when the item does not exist', async () => {
      const ok = await store.completeLease('gone', 'me', { token: token('x') }, 2_000_000_000);

      expect(ok).toBe(false);
      expect(await rawItem('gone')).toBeUndefined();
    });
  });

  describe('refresh index entry', () => {
    it('stores the successor’s due instant and the instance with the token, in the index’s attributes', async () => {
      await store.acquireLease('c1', undefined, lease('me'), 2_000_000_000);
      await store.completeLease(
        'c1',
        'me',
        { token: token('a'), refreshAt: NOW + 3_600_250, instance: 'acme' },
        1,
      );

      expect(await rawItem('c1')).toMatchObject({
        refreshDue: { S: 'due' },
        refreshAt: { N: String(NOW + 3_600_250) },
        instance: { S: 'acme' },
      });
      expect(await store.get('c1')).toMatchObject({ refreshAt: NOW + 3_600_250, instance: 'acme' });
    });

    it('keeps the entry when a refresh fails, so the refresher finds it overdue', async () => {
      await store.acquireLease('c1', undefined, lease('me'), 2_000_000_000);
      await store.completeLease('c1', 'me', { token: token('a'), refreshAt: NOW }, 1);
      const record = await store.get('c1');
      await store.acquireLease('c1', record?.version, lease('me'), 2_000_000_000);
      await store.completeLease(
        'c1',
        'me',
        { error: { code: 'IdentityUnavailable', message: 'x', at: NOW } },
        1,
      );

      expect((await store.get('c1'))?.refreshAt).toBe(NOW);
    });

    it('moves an entry without changing the item’s version, so a lease on the version read still succeeds', async () => {
      const seeded = await seedToken('c1', token('a'), 2_000_000_000);

      await store.scheduleRefresh('c1', NOW + 60_000, 2_000_000_000);

      expect(await store.get('c1')).toMatchObject({ version: seeded.version, refreshAt: NOW + 60_000 });
      expect(await store.acquireLease('c1', seeded.version, lease('me'), 2_000_000_000)).toBeDefined();
    });

    it('creates a bare item with a TTL when a client with no item is scheduled', async () => {
      await store.scheduleRefresh('new', NOW + 60_000, 1_800_000_000);

      expect(await rawItem('new')).toMatchObject({
        refreshAt: { N: String(NOW + 60_000) },
        ttl: { N: '1800000000' },
      });
      expect(await store.acquireLease('new', 0, lease('me'), 2_000_000_000)).toBeDefined();
    });

    it('takes an entry out of the index, and writes nothing for a client with no item', async () => {
      await seedToken('c1', token('a'), 2_000_000_000);
      await store.scheduleRefresh('c1', NOW, 2_000_000_000);

      await store.scheduleRefresh('c1', undefined, 2_000_000_000);
      await store.scheduleRefresh('nobody', undefined, 2_000_000_000);

      expect(await rawItem('c1')).not.toHaveProperty('refreshDue');
      expect((await store.get('c1'))?.refreshAt).toBeUndefined();
      expect(await rawItem('nobody')).toBeUndefined();
    });
  });

  describe('delete and list', () => {
    it('deletes a client item', async () => {
      await seedToken('c1', token('a'), 2_000_000_000);

      await store.delete('c1');

      expect(await store.get('c1')).toBeUndefined();
    });

    it('lists every item, paging through more than one Scan page', async () => {
      const paged = new DynamoTokenStore({ client: db.client, tableName, scanPageSize: 3, now: () => NOW });
      const ids = Array.from({ length: 10 }, (_, i) => `client-${i}`);
      for (const id of ids) await paged.acquireLease(id, undefined, lease('me'), 2_000_000_000);

      const seen: string[] = [];
      for await (const record of paged.list()) seen.push(record.clientId);

      expect(seen.sort()).toEqual([...ids].sort());
    });

    it('leaves the refresher’s plan item out of the clients it lists', async () => {
      await seedToken('c1', token('a'), 2_000_000_000);
      await new DynamoRefreshIndex({ client: db.client, tableName }).advancePlan(undefined, {
        plannedUntil: NOW,
        reconciledAt: NOW,
        version: 1,
      });

      const seen: string[] = [];
      for await (const record of store.list()) seen.push(record.clientId);

      expect(seen).toEqual(['c1']);
    });
  });
});

describe('DynamoRefreshIndex (against dynalite)', () => {
  let db: RunningDynalite;
  let store: DynamoTokenStore;
  let index: DynamoRefreshIndex;

  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => {
    await db.stop();
  });
  beforeEach(async () => {
    const tableName = await createTestTable(db.client);
    store = new DynamoTokenStore({ client: db.client, tableName, now: () => NOW });
    index = new DynamoRefreshIndex({ client: db.client, tableName, pageSize: 2 });
  });

  const indexed = async (clientId: string, refreshAt: number, instance?: string) => {
    await store.acquireLease(clientId, undefined, lease('me'), 2_000_000_000);
    await store.completeLease(
      clientId,
      'me',
      { token: token(clientId), refreshAt, ...(instance === undefined ? {} : { instance }) },
      2_000_000_000,
    );
  };
  const due = async (range: { from?: number; until: number }) => {
    const entries = [];
    for await (const entry of index.due(range)) entries.push(entry);
    return entries;
  };

  it('returns the entries due in [from, until), soonest first, across pages', async () => {
    await indexed('c', NOW + 3_000);
    await indexed('a', NOW + 1_000, 'acme');
    await indexed('b', NOW + 2_000);
    await indexed('d', NOW + 4_000);
    await indexed('e', NOW + 5_000);

    expect(await due({ from: NOW + 1_000, until: NOW + 4_000 })).toEqual([
      { clientId: 'a', refreshAt: NOW + 1_000, instance: 'acme' },
      { clientId: 'b', refreshAt: NOW + 2_000 },
      { clientId: 'c', refreshAt: NOW + 3_000 },
    ]);
    expect((await due({ until: NOW + 2_000 })).map((e) => e.clientId)).toEqual(['a']);
  });

  it('leaves out items without an entry (no token yet, or taken out)', async () => {
    await store.acquireLease('leased', undefined, lease('me'), 2_000_000_000);
    await indexed('gone', NOW);
    await store.scheduleRefresh('gone', undefined, 2_000_000_000);

    expect(await due({ until: Number.MAX_SAFE_INTEGER })).toEqual([]);
  });

  it('moves the plan on only from the version read, so of two overlapping runs one wins', async () => {
    const first = { plannedUntil: NOW + 120_000, reconciledAt: NOW, version: 1 };
    expect(await index.advancePlan(undefined, first)).toBe(true);
    expect(await index.advancePlan(undefined, { ...first, version: 1 })).toBe(false);
    expect(await index.readPlan()).toEqual(first);
    const second = { ...first, plannedUntil: NOW + 180_000, version: 2 };
    expect(await index.advancePlan(first, second)).toBe(true);
    expect(await index.advancePlan(first, { ...second, version: 3 })).toBe(false);
    expect(await index.readPlan()).toEqual(second);
  });
});
