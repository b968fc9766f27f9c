import {
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { REFRESH_INDEX, REFRESH_PLAN_KEY } from '../contract/index.js';
import type { DueRefresh, RefreshIndex, RefreshPlanState } from '../core/ports.js';
import { type Item, n, num, s, str } from './dynamo-attributes.js';
import { isConditionalCheckFailed } from './dynamo-items.js';

/** Options for {@link DynamoRefreshIndex}. */
export interface DynamoRefreshIndexOptions {
  readonly client: DynamoDBClient;
  /** The token table (the index is its `RefreshDue` global secondary index, the plan one of its items). */
  readonly tableName: string;
  /** Entries per Query page. @default - DynamoDB's own limit (1 MB per page) */
  readonly pageSize?: number;
}

/**
 * `RefreshIndex` on the token table: due refreshes from its global secondary index (one partition value,
 * sorted by `refreshAt`; eventually consistent, which the workers' strongly consistent reads make up for),
 * the plan state in one item whose key is no client id. The planner only reads the index (`Query` on the
 * index) and writes the plan item (`UpdateItem` with a version condition).
 */
export class DynamoRefreshIndex implements RefreshIndex {
  constructor(private readonly options: DynamoRefreshIndexOptions) {}

  async *due(range: { readonly from?: number; readonly until: number }): AsyncGenerator<DueRefresh> {
    const { client, tableName, pageSize } = this.options;
    const names = { '#p': REFRESH_INDEX.partitionKey, '#at': REFRESH_INDEX.sortKey };
    // refreshAt is whole milliseconds: [from, until) is BETWEEN from AND until - 1.
    const values: Item = { ':p': s(REFRESH_INDEX.partitionValue), ':last': n(range.until - 1) };
    if (range.from !== undefined) values[':from'] = n(range.from);
    let startKey: Item | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: REFRESH_INDEX.name,
          KeyConditionExpression:
            range.from === undefined ? '#p = :p AND #at <= :last' : '#p = :p AND #at BETWEEN :from AND :last',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ...(pageSize === undefined ? {} : { Limit: pageSize }),
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of page.Items ?? []) {
        const clientId = str(item, 'clientId');
        const refreshAt = num(item, REFRESH_INDEX.sortKey);
        const instance = str(item, 'instance');
        if (clientId !== undefined && refreshAt !== undefined)
          yield { clientId, refreshAt, ...(instance === undefined ? {} : { instance }) };
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  async readPlan(): Promise<RefreshPlanState | undefined> {
    const { Item: item } = await this.options.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: { clientId: s(REFRESH_PLAN_KEY) },
        ConsistentRead: true,
      }),
    );
    if (!item) return undefined;
    const plannedUntil = num(item, 'plannedUntil');
    const reconciledAt = num(item, 'reconciledAt');
    const version = num(item, 'version');
    if (plannedUntil === undefined || reconciledAt === undefined || version === undefined) return undefined;
    return { plannedUntil, reconciledAt, version };
  }

  async advancePlan(expected: RefreshPlanState | undefined, next: RefreshPlanState): Promise<boolean> {
    const values: Item = {
      ':until': n(next.plannedUntil),
      ':reconciled': n(next.reconciledAt),
      ':next': n(next.version),
    };
    if (expected) values[':v'] = n(expected.version);
    try {
      await this.options.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: { clientId: s(REFRESH_PLAN_KEY) },
          UpdateExpression: 'SET plannedUntil = :until, reconciledAt = :reconciled, #version = :next',
          // A plan item written by no run yet (or unreadable) is replaced; otherwise only from the version read.
          ConditionExpression: expected
            ? '#version = :v'
            : 'attribute_not_exists(#version) OR attribute_not_exists(plannedUntil)',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
