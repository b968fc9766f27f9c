import { type DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { BULK_KINDS, type BulkKind } from '../contract/index.js';
import type { BulkSlotStore } from '../core/bulk/ports.js';
import type { BulkSlotLease, BulkState } from '../core/bulk/state.js';
import { type Item, n, num, s, str } from './dynamo-attributes.js';
import { putIfVersion } from './dynamo-items.js';

/**
 * Bulk API slots in the budget table: one item per instance under the key `bulk#<instance>` (an instance
 * key is a host, which never holds `#`) with `kind = bulk`, beside the budget's own item of that instance. The slots are
 * their own item, not attributes of the budget's: the budget rewrites its item whole on every permit, and
 * slots change minutes apart, not per call. Every write is a conditional put on `version`; `ttl` lets idle
 * instances go.
 */
export const BULK_ITEM_PREFIX = 'bulk#';

/** The item kind that marks Bulk slot items (the budget's listing skips items with a kind). */
export const BULK_ITEM_KIND = 'bulk';

export interface DynamoBulkSlotStoreOptions {
  readonly client: DynamoDBClient;
  /** The budget table (partition key `instance`). */
  readonly tableName: string;
}

const isKind = (value: unknown): value is BulkKind => BULK_KINDS.includes(value as BulkKind);

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Leases as stored: a JSON object of slot id → lease; anything malformed is dropped, never trusted. */
const decodeLeases = (raw: string | undefined): Record<string, BulkSlotLease> => {
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const leases: Record<string, BulkSlotLease> = {};
  for (const [id, value] of Object.entries(parsed)) {
    const lease = value as Partial<BulkSlotLease> | null;
    if (
      lease !== null &&
      isKind(lease.kind) &&
      finite(lease.since) &&
      finite(lease.until) &&
      finite(lease.expectedBytes) &&
      typeof lease.client === 'string' &&
      typeof lease.principal === 'string'
    ) {
      leases[id] = {
        kind: lease.kind,
        since: lease.since,
        until: lease.until,
        expectedBytes: lease.expectedBytes,
        client: lease.client,
        principal: lease.principal,
      };
    }
  }
  return leases;
};

/** Maps a raw item to a `BulkState` (`undefined` for an item that is not a bulk item). */
export function itemToBulkState(item: Item): BulkState | undefined {
  const key = str(item, 'instance');
  if (key === undefined || !key.startsWith(BULK_ITEM_PREFIX)) return undefined;
  return {
    instance: key.slice(BULK_ITEM_PREFIX.length),
    version: num(item, 'version') ?? 0,
    slots: decodeLeases(str(item, 'slots')),
    lapsed: decodeLeases(str(item, 'lapsed')),
    day: str(item, 'day') ?? '',
    exportBytes: num(item, 'exportBytes') ?? 0,
    jobsEnded: { extract: num(item, 'extractJobsEnded') ?? 0, import: num(item, 'importJobsEnded') ?? 0 },
  };
}

export class DynamoBulkSlotStore implements BulkSlotStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(options: DynamoBulkSlotStoreOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
  }

  async get(instance: string): Promise<BulkState | undefined> {
    const { Item } = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: { instance: s(`${BULK_ITEM_PREFIX}${instance}`) },
        ConsistentRead: true,
      }),
    );
    return Item ? itemToBulkState(Item) : undefined;
  }

  async save(next: BulkState, expectedVersion: number, expireItemAtSeconds: number): Promise<boolean> {
    const item: Item = {
      instance: s(`${BULK_ITEM_PREFIX}${next.instance}`),
      kind: s(BULK_ITEM_KIND),
      version: n(next.version),
      slots: s(JSON.stringify(next.slots)),
      lapsed: s(JSON.stringify(next.lapsed)),
      day: s(next.day),
      exportBytes: n(next.exportBytes),
      extractJobsEnded: n(next.jobsEnded.extract),
      importJobsEnded: n(next.jobsEnded.import),
      ttl: n(expireItemAtSeconds),
    };
    return putIfVersion(this.#client, this.#table, 'instance', item, expectedVersion);
  }

  /** Every instance's bulk item (a filtered, consistent Scan of the budget table). */
  async *list(): AsyncGenerator<BulkState> {
    let startKey: Item | undefined;
    do {
      const page = await this.#client.send(
        new ScanCommand({
          TableName: this.#table,
          ConsistentRead: true,
          FilterExpression: 'begins_with(#instance, :prefix)',
          ExpressionAttributeNames: { '#instance': 'instance' },
          ExpressionAttributeValues: { ':prefix': s(BULK_ITEM_PREFIX) },
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of page.Items ?? []) {
        const state = itemToBulkState(item);
        if (state) yield state;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }
}
