import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { isValidClientId, REFRESH_INDEX } from '../contract/index.js';
import type { Lease, LeaseOutcome, TokenRecord, TokenStore } from '../core/ports.js';
import { type Item, n, s } from './dynamo-attributes.js';
import { createTableAndWait, isConditionalCheckFailed, scanItems } from './dynamo-items.js';
import { itemToRecord } from './token-item.js';

/** Options for {@link DynamoTokenStore}. The client is injected so tests and local mode can point it anywhere. */
export interface DynamoTokenStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /**
   * Items per Scan page in `list()`.
   * @default - DynamoDB's own limit (1 MB per page)
   */
  readonly scanPageSize?: number;
  /**
   * Source of `updatedAt` (epoch ms).
   * @default Date.now
   */
  readonly now?: () => number;
}

/** Joins conditions with AND, parenthesising only OR clauses (DynamoDB rejects redundant parentheses). */
const and = (...clauses: string[]): string =>
  clauses.map((clause) => (clause.includes(' OR ') ? `(${clause})` : clause)).join(' AND ');

/**
 * `TokenStore` on DynamoDB (partition key `clientId`). Every write bumps `version`; lease acquisition is
 * a compare-and-swap on it and lease completion is conditional on the lease owner, so concurrent
 * Lambdas never both call Identity and a lapsed holder can never overwrite its successor's token.
 */
export class DynamoTokenStore implements TokenStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly scanPageSize?: number;
  private readonly now: () => number;

  constructor(options: DynamoTokenStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.scanPageSize = options.scanPageSize;
    this.now = options.now ?? Date.now;
  }

  async get(clientId: string, options?: { readonly consistent?: boolean }): Promise<TokenRecord | undefined> {
    const result = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { clientId: s(clientId) },
        ConsistentRead: options?.consistent ?? true,
      }),
    );
    return result.Item === undefined ? undefined : itemToRecord(result.Item);
  }

  async acquireLease(
    clientId: string,
    expectedVersion: number | undefined,
    lease: Lease,
    expireItemAtSeconds: number,
  ): Promise<TokenRecord | undefined> {
    const names: Record<string, string> = { '#version': 'version' };
    const values: Item = {
      ':owner': s(lease.owner),
      ':until': n(lease.leaseUntil),
      ':next': n((expectedVersion ?? 0) + 1),
      ':now': n(this.now()),
    };
    let condition: string;
    if (expectedVersion === undefined) {
      names['#clientId'] = 'clientId';
      condition = 'attribute_not_exists(#clientId)';
    } else {
      values[':v'] = n(expectedVersion);
      condition = expectedVersion === 0 ? '#version = :v OR attribute_not_exists(#version)' : '#version = :v';
    }
    const result = await this.updateRaisingTtl(
      {
        TableName: this.tableName,
        Key: { clientId: s(clientId) },
        UpdateExpression: 'SET leaseOwner = :owner, leaseUntil = :until, #version = :next, updatedAt = :now',
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      },
      expireItemAtSeconds,
      // A missing item has no TTL to protect: one write suffices.
      expectedVersion === undefined,
    );
    return result?.Attributes === undefined ? undefined : itemToRecord(result.Attributes);
  }

  async completeLease(
    clientId: string,
    owner: string,
    outcome: LeaseOutcome,
    expireItemAtSeconds: number,
  ): Promise<boolean> {
    const names: Record<string, string> = { '#version': 'version' };
    const values: Item = { ':owner': s(owner), ':one': n(1), ':now': n(this.now()) };
    const base = {
      TableName: this.tableName,
      Key: { clientId: s(clientId) },
      ConditionExpression: 'leaseOwner = :owner',
      ExpressionAttributeNames: names,
    };
    if ('token' in outcome) {
      const { token } = outcome;
      values[':token'] = s(token.accessToken);
      values[':type'] = s(token.tokenType);
      values[':expiresAt'] = n(token.expiresAt);
      values[':obtainedAt'] = n(token.obtainedAt);
      values[':ttl'] = n(expireItemAtSeconds);
      names['#ttl'] = 'ttl';
      const sets = [
        'accessToken = :token',
        'tokenType = :type',
        'expiresAt = :expiresAt',
        'obtainedAt = :obtainedAt',
        '#version = if_not_exists(#version, :zero) + :one',
        'updatedAt = :now',
        '#ttl = :ttl',
      ];
      values[':zero'] = n(0);
      const removes = ['leaseOwner', 'leaseUntil', 'lastErrorCode', 'lastErrorMessage', 'lastErrorAt'];
      for (const field of ['reconfirmedAt', 'requestedAt'] as const) {
        const value = token[field];
        if (value === undefined) {
          removes.push(field);
        } else {
          sets.push(`${field} = :${field}`);
          values[`:${field}`] = n(value);
        }
      }
      if (token.scope === undefined) {
        removes.push('#scope');
      } else {
        sets.push('#scope = :scope');
        values[':scope'] = s(token.scope);
      }
      names['#scope'] = 'scope';
      // The refresh index: the successor's due instant (the index's sort key) and the client's pool.
      names['#refreshAt'] = REFRESH_INDEX.sortKey;
      names['#refreshDue'] = REFRESH_INDEX.partitionKey;
      names['#instance'] = 'instance';
      if (outcome.refreshAt === undefined) {
        removes.push('#refreshAt', '#refreshDue');
      } else {
        sets.push('#refreshAt = :refreshAt', '#refreshDue = :refreshDue');
        values[':refreshAt'] = n(outcome.refreshAt);
        values[':refreshDue'] = s(REFRESH_INDEX.partitionValue);
      }
      if (outcome.instance === undefined) {
        removes.push('#instance');
      } else {
        sets.push('#instance = :instance');
        values[':instance'] = s(outcome.instance);
      }
      // The new token replaces the old one, so its TTL is set outright (it may legitimately be earlier).
      const result = await this.conditionalUpdate({
        ...base,
        UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`,
        ExpressionAttributeValues: values,
      });
      return result !== undefined;
    }
    if ('interrupted' in outcome) {
      // The holder stops: token, lastError and version stay; the lease lapses now for the next instance.
      const result = await this.conditionalUpdate({
        TableName: this.tableName,
        Key: { clientId: s(clientId) },
        ConditionExpression: 'leaseOwner = :owner',
        UpdateExpression: 'SET leaseUntil = :now',
        ExpressionAttributeValues: { ':owner': s(owner), ':now': n(this.now()) },
      });
      return result !== undefined;
    }
    const { error } = outcome;
    values[':code'] = s(error.code);
    values[':message'] = s(error.message);
    values[':at'] = n(error.at);
    values[':zero'] = n(0);
    const result = await this.updateRaisingTtl(
      {
        ...base,
        UpdateExpression:
          'SET lastErrorCode = :code, lastErrorMessage = :message, lastErrorAt = :at, ' +
          '#version = if_not_exists(#version, :zero) + :one, updatedAt = :now REMOVE leaseOwner, leaseUntil',
        ExpressionAttributeValues: values,
      },
      expireItemAtSeconds,
      false,
    );
    return result !== undefined;
  }

  /**
   * Moves (or removes) the client's refresh index entry. It is not part of the token's state, so `version`
   * stays: a lease taken on the version read before still succeeds. A new (bare) item gets a TTL; an
   * existing one keeps its own.
   */
  async scheduleRefresh(
    clientId: string,
    refreshAt: number | undefined,
    expireItemAtSeconds: number,
  ): Promise<void> {
    const key = { clientId: s(clientId) };
    const names = { '#refreshAt': REFRESH_INDEX.sortKey, '#refreshDue': REFRESH_INDEX.partitionKey };
    if (refreshAt === undefined) {
      await this.conditionalUpdate({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'REMOVE #refreshAt, #refreshDue',
        ConditionExpression: 'attribute_exists(clientId)',
        ExpressionAttributeNames: names,
      });
      return;
    }
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression:
          'SET #refreshAt = :at, #refreshDue = :due, updatedAt = :now, #ttl = if_not_exists(#ttl, :ttl)',
        ExpressionAttributeNames: { ...names, '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':at': n(refreshAt),
          ':due': s(REFRESH_INDEX.partitionValue),
          ':now': n(this.now()),
          ':ttl': n(expireItemAtSeconds),
        },
      }),
    );
  }

  async delete(clientId: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: { clientId: s(clientId) } }),
    );
  }

  async *list(): AsyncGenerator<TokenRecord> {
    for await (const item of scanItems(this.client, this.tableName, this.scanPageSize)) {
      const record = itemToRecord(item);
      // The refresher's plan item shares the table; its key is no client id.
      if (record !== undefined && isValidClientId(record.clientId)) yield record;
    }
  }

  /** Runs an UpdateItem; `undefined` when its condition failed. Other errors propagate. */
  private async conditionalUpdate(input: UpdateItemCommandInput) {
    try {
      return await this.client.send(new UpdateItemCommand(input));
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  /**
   * Applies `input` and sets `ttl` to `expireItemAtSeconds` only where that does not lower it, so an item
   * still holding a valid token never gets an earlier TTL. DynamoDB has no `max()` in update expressions, so
   * the first attempt adds "ttl is not later" to the condition (an equal TTL, as when a refresh takes the
   * lease before the stored expiry, is one write, not two); if that fails, a second attempt without the
   * TTL tells "TTL already later" (succeeds) from "someone else wrote" (fails again). No reads are
   * needed and the original condition stays atomic in both attempts.
   */
  private async updateRaisingTtl(
    input: UpdateItemCommandInput,
    expireItemAtSeconds: number,
    single: boolean,
  ) {
    const names = { ...input.ExpressionAttributeNames, '#ttl': 'ttl' };
    const values = { ...input.ExpressionAttributeValues, ':ttl': n(expireItemAtSeconds) };
    const expression = input.UpdateExpression ?? '';
    const withTtl = expression.startsWith('SET ')
      ? `SET #ttl = :ttl, ${expression.slice('SET '.length)}`
      : `SET #ttl = :ttl ${expression}`;
    const first = await this.conditionalUpdate({
      ...input,
      UpdateExpression: withTtl,
      ConditionExpression: single
        ? input.ConditionExpression
        : and(input.ConditionExpression ?? '', 'attribute_not_exists(#ttl) OR #ttl <= :ttl'),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
    if (first !== undefined || single) return first;
    return this.conditionalUpdate(input);
  }
}

/**
 * Creates the token table (partition key `clientId`, on-demand, with the refresh index, as the CDK
 * construct does) and waits until it is ACTIVE. An existing table is fine. For local mode and tests; in AWS the stack owns it.
 */
export async function createTokenTable(
  client: DynamoDBClient,
  tableName: string,
  options: { readonly timeoutMs?: number } = {},
): Promise<void> {
  await createTableAndWait(client, tableName, 'clientId', options.timeoutMs, {
    name: REFRESH_INDEX.name,
    partitionKey: REFRESH_INDEX.partitionKey,
    sortKey: REFRESH_INDEX.sortKey,
    include: ['instance'],
  });
}
