/** The cross-instance single flight: the store's refresh lease decides who calls Identity for a client. */
import {
  type Engine,
  itemExpiryEpochSeconds,
  jitter,
  readCredentials,
  readRecord,
  storeFailure,
} from './engine.js';
import { IdentityUnavailableError, isTokenVendorError, UnknownClientError } from './errors.js';
import { fetchFromIdentity } from './identity-fetch.js';
import type { ClientCredentials, StoredToken, TokenRecord } from './ports.js';
import { isLive, successorDueAt } from './token-life.js';
import type { TokenSource } from './token-vendor-api.js';

/** A refresh's result: the token, and whether it came from Identity or from someone else's refresh. */
export interface Refreshed {
  readonly token: StoredToken;
  readonly source: TokenSource;
}

/**
 * Reads the store; returns a live token other than `stale` if one is there; waits while someone else
 * holds the lease; otherwise takes the lease (compare-and-swap on the item's version), calls Identity and
 * stores the result. With `checkedSince` (an invalidation), a successful refresh completed after that
 * version also settles it, even if Identity kept the token.
 */
export async function refreshViaLease(
  engine: Engine,
  clientId: string,
  stale: string | undefined,
  deadline: number,
  checkedSince: number | undefined,
): Promise<Refreshed> {
  const { clock, config, logger, metrics, instanceId, store } = engine;
  let waited = false;
  for (;;) {
    const now = clock.now();
    if (now >= deadline) {
      throw new IdentityUnavailableError(
        `token refresh for client "${clientId}" did not finish within the wait budget`,
        { retryAfterSeconds: 1 },
      );
    }
    const record = await readRecord(engine, clientId);
    const current = record?.token;
    if (current && isLive(engine, current)) {
      const replaced = current.accessToken !== stale;
      // A lease completed successfully after the report (version moved on, lease released, no error):
      // Identity was asked again and kept this token.
      const reconfirmed =
        checkedSince !== undefined &&
        record !== undefined &&
        record.version > checkedSince &&
        !record.lease &&
        !record.lastError;
      if (replaced || reconfirmed) return { token: current, source: 'store' };
    }
    const lease = record?.lease;
    if (lease && lease.leaseUntil > now && lease.owner !== instanceId) {
      if (!waited) metrics.record('LeaseWaits', 1, 'Count');
      waited = true;
      await clock.sleep(Math.min(jitter(engine, config.leasePollMs), Math.max(1, lease.leaseUntil - now)));
      continue;
    }
    if (lease && lease.owner !== instanceId) {
      metrics.record('LeaseTakeovers', 1, 'Count');
      logger.warn('refresh lease lapsed; taking over', { clientId, leaseUntil: lease.leaseUntil });
    }
    const leaseUntil = now + config.leaseDurationMs;
    // Read the secret while the lease write is in flight: it is on the miss path's critical path. A client
    // with no item yet may not be registered at all: read first, so an unknown id writes nothing (other
    // credential failures still take the lease, to record the error for operators).
    const credentials = readCredentials(engine, clientId, false);
    const read = credentials.catch((error: unknown) => {
      if (error instanceof UnknownClientError) throw error;
    });
    if (record === undefined) await read;
    else read.catch(() => {});
    let acquired: TokenRecord | undefined;
    try {
      acquired = await store.acquireLease(
        clientId,
        record?.version,
        { owner: instanceId, leaseUntil },
        itemExpiryEpochSeconds(engine, current),
      );
    } catch (error) {
      throw storeFailure(engine, error, clientId);
    }
    if (!acquired) continue;
    return {
      token: await refreshUnderLease(engine, clientId, Math.min(deadline, leaseUntil), current, credentials),
      source: 'identity',
    };
  }
}

/** Holding the lease: fetches from Identity and stores the outcome (the token, or why it failed). */
async function refreshUnderLease(
  engine: Engine,
  clientId: string,
  deadline: number,
  previous: StoredToken | undefined,
  credentials: Promise<ClientCredentials>,
): Promise<StoredToken> {
  const { clock, logger, instanceId, store } = engine;
  let token: StoredToken;
  try {
    const fetched = await fetchFromIdentity(engine, clientId, deadline, credentials);
    // Identity kept the token (only an invalidation asks before expiry): remember it was just reconfirmed.
    token =
      fetched.accessToken === previous?.accessToken
        ? { ...fetched, reconfirmedAt: fetched.obtainedAt }
        : fetched;
  } catch (error) {
    const typed = isTokenVendorError(error) ? error : undefined;
    const lastError = {
      code: typed?.code ?? 'InternalError',
      message: typed?.message ?? 'unexpected error during refresh',
      at: clock.now(),
    };
    // The previous token stays: a failed refresh never deletes what may still be valid.
    await store
      .completeLease(clientId, instanceId, { error: lastError }, itemExpiryEpochSeconds(engine, previous))
      .catch((storeError: unknown) => storeFailure(engine, storeError, clientId));
    throw error;
  }
  try {
    // The refresh index learns when the successor is due, and the pool the client belongs to.
    const instance = (await credentials.catch(() => undefined))?.instance;
    const stored = await store.completeLease(
      clientId,
      instanceId,
      { token, refreshAt: successorDueAt(engine, token), ...(instance === undefined ? {} : { instance }) },
      itemExpiryEpochSeconds(engine, token),
    );
    if (!stored) logger.warn('refresh lease was taken over before the token was stored', { clientId });
  } catch (error) {
    // The token is real; consumers get it even if the store write failed.
    storeFailure(engine, error, clientId);
  }
  return token;
}
