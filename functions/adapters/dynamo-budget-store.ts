import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { InstanceLimits } from '../contract/index.js';
import type { BudgetStore } from '../core/budget/ports.js';
import type { BudgetState, RateGrant } from '../core/budget/state.js';
import type { ConsumerUsage, UsageStore } from '../core/budget/usage.js';
import { type Item, n, num, s, str } from './dynamo-attributes.js';
import { createTableAndWait, isConditionalCheckFailed, putIfVersion, scanItems } from './dynamo-items.js';
import { DynamoUsageStore } from './dynamo-usage-store.js';

/**
 * Instance budgets in their own DynamoDB table (partition key `instance`), beside the token table: a
 * different key, access pattern and lifetime, and `clients list` never sees budget items. One item per
 * instance; every change but a release is a conditional write on `version`, `ttl` lets idle instances go.
 */
export interface DynamoBudgetStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/**
 * Number attributes written only when set (issue 27): when the next call is due by the pacing (shared by
 * every vend instance, or each would pace alone) and the reconciliation with Marketo's own count.
 */
const OPTIONAL_NUMBERS = ['paceAt', 'reconciledAt', 'confirmedAt', 'marketoCount', 'marketoCountAt'] as const;

/** Grants as `at:count;at:count` (one string: small, and always rewritten whole under the version check). */
const encodeGrants = (grants: readonly RateGrant[]): string =>
  grants.map((g) => `${g.at}:${g.count}`).join(';');

const decodeGrants = (raw: string | undefined): RateGrant[] => {
  if (!raw) return [];
  const grants: RateGrant[] = [];
  for (const part of raw.split(';')) {
    const [at, count] = part.split(':').map(Number);
    if (Number.isFinite(at) && Number.isInteger(count) && (count as number) > 0) {
      grants.push({ at: at as number, count: count as number });
    }
  }
  return grants;
};

const decodeLimits = (raw: string | undefined): Partial<InstanceLimits> | undefined => {
  if (!raw) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Partial<InstanceLimits>) : undefined;
  } catch {
    return undefined;
  }
};

/** Maps a raw item to a `BudgetState`; tolerant of missing attributes (they read as empty). */
export function itemToBudgetState(item: Item): BudgetState | undefined {
  const instance = str(item, 'instance');
  // Items with a `kind` are not an instance's budget (usage per consumer: dynamo-usage-store.ts; Bulk API
  // slots: dynamo-bulk-slot-store.ts).
  if (instance === undefined || str(item, 'kind') !== undefined) return undefined;
  const leases: Record<string, number> = {};
  const map = item.leases;
  if (map && 'M' in map && map.M) {
    for (const [id, value] of Object.entries(map.M)) {
      const until = 'N' in value ? Number(value.N) : Number.NaN;
      if (Number.isFinite(until)) leases[id] = until;
    }
  }
  const slowUntil = num(item, 'slowUntil');
  const narrowUntil = num(item, 'narrowUntil');
  const exhaustedDay = str(item, 'exhaustedDay');
  const limits = decodeLimits(str(item, 'limits'));
  const optionalNumbers = Object.fromEntries(
    OPTIONAL_NUMBERS.flatMap((name) => {
      const value = num(item, name);
      return value === undefined ? [] : [[name, value]];
    }),
  );
  return {
    instance,
    version: num(item, 'version') ?? 0,
    grants: decodeGrants(str(item, 'grants')),
    leases,
    day: str(item, 'day') ?? '',
    dayCount: num(item, 'dayCount') ?? 0,
    ...(slowUntil === undefined ? {} : { slowUntil }),
    ...(narrowUntil === undefined ? {} : { narrowUntil }),
    ...(exhaustedDay === undefined ? {} : { exhaustedDay }),
    ...(limits === undefined ? {} : { limits }),
    ...optionalNumbers,
  };
}

/** An instance's budget items, and beside them its usage per consumer (dynamo-usage-store.ts). */
export class DynamoBudgetStore implements BudgetStore, UsageStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #usage: DynamoUsageStore;

  constructor(options: DynamoBudgetStoreOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#usage = new DynamoUsageStore(options);
  }

  addUsage(instance: string, day: string, rows: readonly ConsumerUsage[], expireAt: number): Promise<void> {
    return this.#usage.addUsage(instance, day, rows, expireAt);
  }

  readUsage(instance: string, day: string): Promise<ConsumerUsage[]> {
    return this.#usage.readUsage(instance, day);
  }

  async get(instance: string): Promise<BudgetState | undefined> {
    const { Item } = await this.#client.send(
      new GetItemCommand({ TableName: this.#table, Key: { instance: s(instance) }, ConsistentRead: true }),
    );
    return Item ? itemToBudgetState(Item) : undefined;
  }

  async save(next: BudgetState, expectedVersion: number, expireItemAtSeconds: number): Promise<boolean> {
    const item: Item = {
      instance: s(next.instance),
      version: n(next.version),
      grants: s(encodeGrants(next.grants)),
      leases: { M: Object.fromEntries(Object.entries(next.leases).map(([id, until]) => [id, n(until)])) },
      day: s(next.day),
      dayCount: n(next.dayCount),
      ttl: n(expireItemAtSeconds),
    };
    if (next.slowUntil !== undefined) item.slowUntil = n(next.slowUntil);
    if (next.narrowUntil !== undefined) item.narrowUntil = n(next.narrowUntil);
    if (next.exhaustedDay !== undefined) item.exhaustedDay = s(next.exhaustedDay);
    if (next.limits !== undefined) item.limits = s(JSON.stringify(next.limits));
    for (const name of OPTIONAL_NUMBERS) {
      const value = next[name];
      if (value !== undefined) item[name] = n(value);
    }
    return putIfVersion(this.#client, this.#table, 'instance', item, expectedVersion);
  }

  async release(instance: string, permitId: string): Promise<void> {
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { instance: s(instance) },
          UpdateExpression: 'REMOVE #leases.#id SET #version = #version + :one',
          ConditionExpression: 'attribute_exists(#leases)',
          ExpressionAttributeNames: { '#leases': 'leases', '#id': permitId, '#version': 'version' },
          ExpressionAttributeValues: { ':one': n(1) },
        }),
      );
    } catch (error) {
      // No item (or no lease map): nothing held, nothing to release.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async setLimits(
    instance: string,
    limits: Partial<InstanceLimits> | undefined,
    expireItemAtSeconds: number,
  ): Promise<void> {
    const common = {
      TableName: this.#table,
      Key: { instance: s(instance) },
      ExpressionAttributeNames: {
        '#limits': 'limits',
        '#version': 'version',
        '#leases': 'leases',
        '#ttl': 'ttl',
      },
    };
    const set =
      'SET #version = if_not_exists(#version, :zero) + :one, #leases = if_not_exists(#leases, :none), #ttl = :ttl';
    const values: Item = { ':zero': n(0), ':one': n(1), ':none': { M: {} }, ':ttl': n(expireItemAtSeconds) };
    await this.#client.send(
      new UpdateItemCommand(
        limits === undefined
          ? { ...common, UpdateExpression: `${set} REMOVE #limits`, ExpressionAttributeValues: values }
          : {
              ...common,
              UpdateExpression: `${set}, #limits = :limits`,
              ExpressionAttributeValues: { ...values, ':limits': s(JSON.stringify(limits)) },
            },
      ),
    );
  }

  async *list(): AsyncGenerator<BudgetState> {
    for await (const item of scanItems(this.#client, this.#table)) {
      const state = itemToBudgetState(item);
      if (state) yield state;
    }
  }
}

/** Creates the budget table (local mode, tests) and waits until it is ACTIVE; an existing table is fine. */
export async function createBudgetTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await createTableAndWait(client, tableName, 'instance');
}
