import { REFRESH_INDEX } from '../contract/index.js';
import type { LastError, Lease, StoredToken, TokenRecord } from '../core/ports.js';
import { type Item, num, str } from './dynamo-attributes.js';

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
  const instance = str(item, 'instance');
  const refreshAt = num(item, REFRESH_INDEX.sortKey);
  return {
    clientId,
    version: num(item, 'version') ?? 0,
    ...(token === undefined ? {} : { token }),
    ...(lease === undefined ? {} : { lease }),
    ...(lastError === undefined ? {} : { lastError }),
    ...(instance === undefined ? {} : { instance }),
    ...(refreshAt === undefined ? {} : { refreshAt }),
  };
}
