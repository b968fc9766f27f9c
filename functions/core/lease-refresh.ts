/** The store's refresh lease: across instances, it decides who calls Identity for a client. */
import { IdentityUnavailableError, isTokenVendorError, UnknownClientError } from './errors.js';
import { fetchFromIdentity, readCredentials } from './identity-fetch.js';
import { jitter } from './jitter.js';
import type { ClientCredentials, StoredToken, TokenRecord } from './ports.js';
import { itemExpiryEpochSeconds, readRecord, storeFailure } from './store-access.js';
import { isLive, successorDueAt } from './token-life.js';
import type { TokenSource } from './token-vendor-api.js';
import type { VendorState } from './vendor-state.js';

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
  state: VendorState,
  clientId: string,
  stale: string | undefined,
  deadline: number,
  checkedSince: number | undefined,
): Promise<Refreshed> {
  const { clock, config, logger, metrics, instanceId, store } = state;
  let waited = false;
  for (;;) {
    const now = clock.now();
    if (now >= deadline) {
      throw new IdentityUnavailableError(
        `token refresh for client "${clientId}" did not finish within the wait budget`,
        { retryAfterSeconds: 1 },
      );
    }
    const record = await readRecord(state, clientId);
    const current = record?.token;
    if (current && isLive(state, current)) {
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
      await clock.sleep(
        Math.min(jitter(config.leasePollMs, state.random), Math.max(1, lease.leaseUntil - now)),
      );
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
    const credentials = readCredentials(state, clientId, false);
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
        itemExpiryEpochSeconds(state, current),
      );
    } catch (error) {
      throw storeFailure(state, error, clientId);
    }
    if (!acquired) continue;
    return {
      token: await refreshUnderLease(state, clientId, Math.min(deadline, leaseUntil), current, credentials),
      source: 'identity',
    };
  }
}

/** Holding the lease: fetches from Identity and stores the outcome (the token, or why it failed). */
async function refreshUnderLease(
  state: VendorState,
  clientId: string,
  deadline: number,
  previous: StoredToken | undefined,
  credentials: Promise<ClientCredentials>,
): Promise<StoredToken> {
  const { clock, logger, instanceId, store } = state;
  let token: StoredToken;
  try {
    const fetched = await fetchFromIdentity(state, clientId, deadline, credentials);
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
      .completeLease(clientId, instanceId, { error: lastError }, itemExpiryEpochSeconds(state, previous))
      .catch((storeError: unknown) => storeFailure(state, storeError, clientId));
    throw error;
  }
  try {
    // The refresh index learns when the successor is due, and the pool the client belongs to.
    const instance = (await credentials.catch(() => undefined))?.instance;
    const stored = await store.completeLease(
      clientId,
      instanceId,
      { token, refreshAt: successorDueAt(state, token), ...(instance === undefined ? {} : { instance }) },
      itemExpiryEpochSeconds(state, token),
    );
    if (!stored) logger.warn('refresh lease was taken over before the token was stored', { clientId });
  } catch (error) {
    // The token is real; consumers get it even if the store write failed.
    storeFailure(state, error, clientId);
  }
  return token;
}
