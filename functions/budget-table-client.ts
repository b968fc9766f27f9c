/**
 * The budget table's SDK client, shared by the permit and Bulk API slot recipes: failing fast like the vend
 * path (a slow store must not hold a consumer's Marketo call for long), and loaded on first use, so a token
 * vend, which never needs it, keeps the SDK out of the vend function's cold start.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export async function loadBudgetTableClient(): Promise<DynamoDBClient> {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  return new DynamoDBClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
}
