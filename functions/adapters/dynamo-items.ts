import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  PutItemCommand,
  ResourceInUseException,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';

/**
 * Item plumbing shared by the DynamoDB adapters (token table, budget table): telling a failed condition
 * apart, paging a Scan, and creating a table for local mode and tests. Single attributes: dynamo-attributes.ts.
 */
import { type Item, n } from './dynamo-attributes.js';

/** By class, or by name when the error crossed a second copy of the SDK (bundles, tests). */
const isAwsError = (error: unknown, type: abstract new (...args: never[]) => Error, name: string): boolean =>
  error instanceof type || (error instanceof Error && error.name === name);

export const isConditionalCheckFailed = (error: unknown): boolean =>
  isAwsError(error, ConditionalCheckFailedException, 'ConditionalCheckFailedException');

/**
 * Writes `item` only if the stored item's `version` is still `expectedVersion` (0: no item under its
 * `partitionKey` yet): the compare-and-swap every read-decide-write of the budget table ends with. Returns
 * false when someone else wrote first.
 */
export async function putIfVersion(
  client: DynamoDBClient,
  tableName: string,
  partitionKey: string,
  item: Item,
  expectedVersion: number,
): Promise<boolean> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: item,
        ...(expectedVersion === 0
          ? {
              ConditionExpression: 'attribute_not_exists(#key)',
              ExpressionAttributeNames: { '#key': partitionKey },
            }
          : {
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': n(expectedVersion) },
            }),
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Every item of a table through a consistent Scan, page after page. */
export async function* scanItems(
  client: DynamoDBClient,
  tableName: string,
  pageSize?: number,
): AsyncGenerator<Item> {
  let startKey: Item | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        ...(pageSize === undefined ? {} : { Limit: pageSize }),
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    yield* page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
}

/** A global secondary index with a string partition key and a number sort key. */
export interface SecondaryIndex {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  /** Attributes projected besides the keys. */
  readonly include: readonly string[];
}

/**
 * Creates an on-demand table with a string partition key and, optionally, one global secondary index (as
 * the CDK construct does) and waits until it is ACTIVE. An existing table is fine. For local mode and tests;
 * in AWS the stack owns the tables.
 */
export async function createTableAndWait(
  client: DynamoDBClient,
  tableName: string,
  partitionKey: string,
  timeoutMs = 120_000,
  index?: SecondaryIndex,
): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: partitionKey, AttributeType: 'S' },
          ...(index
            ? [
                { AttributeName: index.partitionKey, AttributeType: 'S' as const },
                { AttributeName: index.sortKey, AttributeType: 'N' as const },
              ]
            : []),
        ],
        KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        ...(index
          ? {
              GlobalSecondaryIndexes: [
                {
                  IndexName: index.name,
                  KeySchema: [
                    { AttributeName: index.partitionKey, KeyType: 'HASH' },
                    { AttributeName: index.sortKey, KeyType: 'RANGE' },
                  ],
                  Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.include] },
                },
              ],
            }
          : {}),
      }),
    );
  } catch (error) {
    if (!isAwsError(error, ResourceInUseException, 'ResourceInUseException')) throw error;
  }
  // Polls with a short, growing delay: dynalite is ready in milliseconds, real DynamoDB in seconds.
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 2_000)) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() + delay > deadline) {
      throw new Error(`table ${tableName} did not become ACTIVE (status ${Table?.TableStatus})`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
