import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { LastError, Lease, LeaseOutcome, StoredToken, TokenRecord, TokenStore } from '../core/ports.js';
import {
  createTableAndWait,
  type Item,
  isConditionalCheckFailed,
  n,
  num,
  s,
  scanItems,
  str,
} from './dynamo-items.js';

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

/**
 * Maps a raw item to a `TokenRecord`. Tolerant of items written by older versions: a missing
 * `version` reads as 0, and a token, lease or last error is present only when all of its fields are
 * (a half token is treated as no token, so it can never be handed out).
 */
export function itemToRecord(item: Item): TokenRecord | undefined {
  const clientId = str(item, 'clientId');
  if (clientId === undefined) return undefined;
  const accessToken = str(item, 'accessToken');
  const tokenType = str(item, 'tokenType');
  const expiresAt = num(item, 'expiresAt');
  const obtainedAt = num(item, 'obtainedAt');
  const reconfirmedAt = num(item, 'reconfirmedAt');
  const requestedAt = num(item, 'requestedAt');
  const scope = str(item, 'scope');
  const token: StoredToken | undefined =
    accessToken && tokenType && expiresAt !== undefined && obtainedAt !== undefined
      ? {
          accessToken,
          tokenType,
          expiresAt,
          obtainedAt,
          ...(scope === undefined ? {} : { scope }),
          ...(reconfirmedAt === undefined ? {} : { reconfirmedAt }),
          ...(requestedAt === undefined ? {} : { requestedAt }),
        }
      : undefined;
  const leaseOwner = str(item, 'leaseOwner');
  const leaseUntil = num(item, 'leaseUntil');
  const lease: Lease | undefined =
    leaseOwner && leaseUntil !== undefined ? { owner: leaseOwner, leaseUntil } : undefined;
  const errorCode = str(item, 'lastErrorCode');
  const errorAt = num(item, 'lastErrorAt');
  const lastError: LastError | undefined =
    errorCode && errorAt !== undefined
      ? { code: errorCode, message: str(item, 'lastErrorMessage') ?? '', at: errorAt }
      : undefined;
  return {
    clientId,
    version: num(item, 'version') ?? 0,
    ...(token === undefined ? {} : { token }),
    ...(lease === undefined ? {} : { lease }),
    ...(lastError === undefined ? {} : { lastError }),
  };
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

  async get(clientId: string): Promise<TokenRecord | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { clientId: s(clientId) }, ConsistentRead: true }),
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

  async delete(clientId: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: { clientId: s(clientId) } }),
    );
  }

  async *list(): AsyncGenerator<TokenRecord> {
    for await (const item of scanItems(this.client, this.tableName, this.scanPageSize)) {
      const record = itemToRecord(item);
      if (record !== undefined) yield record;
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
   * Applies `input` and sets `ttl` to `expireItemAtSeconds` only where that raises it, so an item still
   * holding a valid token never gets an earlier TTL. DynamoDB has no `max()` in update expressions, so
   * the first attempt adds "ttl is lower" to the condition; if that fails, a second attempt without the
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
        : and(input.ConditionExpression ?? '', 'attribute_not_exists(#ttl) OR #ttl < :ttl'),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
    if (first !== undefined || single) return first;
    return this.conditionalUpdate(input);
  }
}

/**
 * Creates the token table (partition key `clientId`, on-demand, as the CDK construct does) and waits
 * until it is ACTIVE. An existing table is fine. For local mode and tests; in AWS the stack owns it.
 */
export async function createTokenTable(
  client: DynamoDBClient,
  tableName: string,
  options: { readonly timeoutMs?: number } = {},
): Promise<void> {
  await createTableAndWait(client, tableName, 'clientId', options.timeoutMs);
}
