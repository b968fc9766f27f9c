/**
 * Usage per consumer in the budget table (functions/core/budget/usage.ts): one item per instance and quota
 * day, keyed `usage#<instance>#<day>` beside the instance's budget item, with one number attribute per
 * client, consumer and counter (`u|<client>|<consumer>|<counter>`). Writes are `ADD`s (atomic, no read, no
 * condition), so any number of vend functions book into the same item without a race; `ttl` lets old days
 * go. `kind = usage` keeps the item out of the budget's own listing.
 */
import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  type ConsumerUsage,
  emptyCounts,
  USAGE_COUNTERS,
  type UsageCounterName,
  type UsageStore,
} from '../core/budget/usage.js';
import { type Item, n, s } from './dynamo-attributes.js';

/** The item kind that marks usage items (the budget's listing skips them). */
export const USAGE_ITEM_KIND = 'usage';

/** The partition key of an instance's usage on a quota day. */
export const usageKey = (instance: string, day: string): string => `usage#${instance}#${day}`;

/** Counters per update: keeps each UpdateExpression well under DynamoDB's 4 KB. */
const ATTRIBUTES_PER_UPDATE = 40;
const COUNTERS: ReadonlySet<string> = new Set(USAGE_COUNTERS);

export class DynamoUsageStore implements UsageStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(options: { readonly client: DynamoDBClient; readonly tableName: string }) {
    this.#client = options.client;
    this.#table = options.tableName;
  }

  async addUsage(
    instance: string,
    day: string,
    rows: readonly ConsumerUsage[],
    expireItemAtSeconds: number,
  ): Promise<void> {
    const adds = rows.flatMap((row) =>
      USAGE_COUNTERS.filter((name) => row.counts[name] !== 0).map(
        (name) => [`u|${row.client}|${row.consumer}|${name}`, row.counts[name]] as const,
      ),
    );
    for (let from = 0; from < adds.length; from += ATTRIBUTES_PER_UPDATE) {
      const part = adds.slice(from, from + ATTRIBUTES_PER_UPDATE);
      const names: Record<string, string> = { '#kind': 'kind', '#ttl': 'ttl' };
      const values: Item = { ':kind': s(USAGE_ITEM_KIND), ':ttl': n(expireItemAtSeconds) };
      part.forEach(([name, value], i) => {
        names[`#a${i}`] = name;
        values[`:a${i}`] = n(value);
      });
      const add = part.map((_, i) => `#a${i} :a${i}`).join(', ');
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { instance: s(usageKey(instance, day)) },
          UpdateExpression: `SET #kind = :kind, #ttl = :ttl ADD ${add}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    }
  }

  async readUsage(instance: string, day: string): Promise<ConsumerUsage[]> {
    const { Item: item } = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: { instance: s(usageKey(instance, day)) },
        ConsistentRead: true,
      }),
    );
    return usageRowsOf(item ?? {});
  }
}

/** The rows of a usage item (attributes `u|<client>|<consumer>|<counter>`). */
export function usageRowsOf(item: Item): ConsumerUsage[] {
  const rows = new Map<
    string,
    { client: string; consumer: string; counts: Record<UsageCounterName, number> }
  >();
  for (const [name, value] of Object.entries(item)) {
    const parts = name.split('|');
    if (parts.length !== 4 || parts[0] !== 'u' || !COUNTERS.has(parts[3] as string)) continue;
    const [, client, consumer, counter] = parts as [string, string, string, UsageCounterName];
    const amount = 'N' in value ? Number(value.N) : Number.NaN;
    if (!Number.isFinite(amount)) continue;
    const key = `${client}|${consumer}`;
    const row = rows.get(key) ?? { client, consumer, counts: emptyCounts() };
    row.counts[counter] += amount;
    rows.set(key, row);
  }
  return [...rows.values()];
}
