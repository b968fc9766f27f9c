/** The store's refresh lease: across instances, it decides who calls Identity for a client. */
import { ShutdownInterruption } from './clock.js';
import { rejectedCredentialsBackoff } from './credentials-backoff.js';
import {
  CredentialsRejectedError,
  IdentityUnavailableError,
  isTokenVendorError,
  StoreThrottledError,
  StoreUnavailableError,
  UnknownClientError,
} from './errors.js';
import { fetchFromIdentity, readCredentials } from './identity-fetch.js';
import { jitter } from './jitter.js';
import type { ClientCredentials, RefreshedOutcome, StoredToken, TokenRecord } from './ports.js';
import { itemExpiryEpochSeconds, readRecord, storeFailure } from './store-access.js';
import { isLive, successorDueAt } from './token-life.js';
import type { TokenSource } from './token-vendor-api.js';
import type { VendorState } from './vendor-state.js';

/** Backoffs a caller that knows nothing of the key rides out before treating throttling as an outage. */
const COLD_THROTTLE_BACKOFFS = 3;

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
 *
 * One item sits in one DynamoDB partition (3,000 read units a second): thousands of Lambdas waiting on one
 * rotation must not poll it every 100 ms. So waiting is cheap: polls are eventually consistent (half a
 * unit) and back off from `leasePollMs` to `leasePollMaxMs`; only before acting (taking the lease) does a
 * waiter read strongly consistently, once. A throttled read or lease write is waited out the same way
 * when the key is known to be hot (the caller holds the token being replaced, or has seen a lease), not
 * answered by calling Identity without the lease; only throttling that outlasts a lease, or meets a client
 * with no token yet, is treated as the store being unavailable (served from Identity, as before).
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
  let pollMs = config.leasePollMs;
  // Polls need not be strongly consistent; acting on what one saw does.
  let consistent = false;
  /** Sleeps one poll interval (never past `until`) and doubles the next. */
  const backOff = async (until: number): Promise<void> => {
    await clock.sleep(Math.min(jitter(pollMs, state.random), Math.max(1, until - clock.now())));
    pollMs = Math.min(pollMs * 2, config.leasePollMaxMs);
  };
  let sawLease = false;
  let throttledSince: number | undefined;
  let throttledTimes = 0;
  /**
   * Waits out a throttled request: on a key known to be hot for up to a lease, otherwise for a few backoffs
   * only (a store throttled as a whole is as good as unavailable: the caller is then served from Identity).
   */
  const rideOutThrottling = async (error: unknown): Promise<void> => {
    if (!(error instanceof StoreThrottledError)) throw error;
    throttledSince ??= clock.now();
    throttledTimes += 1;
    const hot = stale !== undefined || sawLease;
    const givenUp = hot
      ? clock.now() - throttledSince >= config.leaseDurationMs
      : throttledTimes > COLD_THROTTLE_BACKOFFS;
    if (givenUp) {
      throw new StoreUnavailableError('token store unavailable (throttled)', {
        cause: error,
        retryAfterSeconds: 1,
      });
    }
    await backOff(deadline);
  };
  for (;;) {
    const now = clock.now();
    if (now >= deadline) {
      throw new IdentityUnavailableError(
        `token refresh for client "${clientId}" did not finish within the wait budget`,
        { retryAfterSeconds: 1 },
      );
    }
    let record: TokenRecord | undefined;
    try {
      record = await readRecord(state, clientId, { consistent });
    } catch (error) {
      await rideOutThrottling(error);
      continue;
    }
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
      sawLease = true;
      await backOff(lease.leaseUntil);
      consistent = false;
      continue;
    }
    if (!consistent) {
      // The lease looks free (or lapsed): confirm with one strongly consistent read before taking it.
      consistent = true;
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
    const rejected = record?.lastError !== undefined && backedOff(state, record.lastError) !== undefined;
    const credentials = rejected
      ? credentialsUnlessRejected(state, clientId, record?.lastError)
      : readCredentials(state, clientId, false);
    // Refused before the lease, so the refusal writes nothing and the cooldown still ends when it should.
    if (rejected) await credentials;
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
      await rideOutThrottling(storeFailure(state, error, clientId));
      continue;
    }
    if (!acquired) continue;
    return {
      token: await refreshUnderLease(state, clientId, Math.min(deadline, leaseUntil), current, credentials),
      source: 'identity',
    };
  }
}

/** The rejected-credentials back-off of `lastError` now, given when the secret last changed. */
const backedOff = (state: VendorState, lastError: TokenRecord['lastError'], secretChangedAt?: number) =>
  rejectedCredentialsBackoff({
    lastError,
    now: state.clock.now(),
    cooldownMs: state.config.rejectedCredentialsCooldownMs,
    ...(secretChangedAt === undefined ? {} : { secretChangedAt }),
  });

/**
 * The credentials to ask Identity with, unless Identity rejected this client's credentials within the
 * cooldown and its secret has not changed since (one fresh read tells): then `CredentialsRejected` at once.
 * A consumer retrying such a client in a loop would otherwise spend two Identity calls an ask against the
 * instance's shared limits (issues 22 and 27); the refresher backs off the same way (credentials-backoff.ts).
 */
async function credentialsUnlessRejected(
  state: VendorState,
  clientId: string,
  lastError: TokenRecord['lastError'],
): Promise<ClientCredentials> {
  const fresh = await readCredentials(state, clientId, true);
  const still = backedOff(state, lastError, fresh.changedAt);
  if (still) {
    const until = new Date(still.until).toISOString();
    state.logger.info(
      'Identity rejected these credentials and the secret has not changed; not asking again',
      {
        clientId,
        until,
      },
    );
    throw new CredentialsRejectedError(
      `Identity rejected the credentials of client "${clientId}"; they are not tried again until the secret ` +
        `changes or ${until}`,
    );
  }
  return fresh;
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
    if (error instanceof ShutdownInterruption) {
      // Not the client's failure: its last error (and token) stay as they were; the lease lapses now.
      await store
        .completeLease(clientId, instanceId, { interrupted: true }, itemExpiryEpochSeconds(state, previous))
        .catch((storeError: unknown) => storeFailure(state, storeError, clientId));
      throw error;
    }
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
    const outcome = {
      token,
      refreshAt: successorDueAt(state, token),
      ...(instance === undefined ? {} : { instance }),
    };
    const stored = await completeThroughThrottling(state, clientId, outcome, deadline);
    if (!stored) logger.warn('refresh lease was taken over before the token was stored', { clientId });
  } catch (error) {
    // The token is real; consumers get it even if the store write failed.
    storeFailure(state, error, clientId);
  }
  return token;
}

/**
 * Stores the token and releases the lease. Everyone waiting on the rotation waits for this one write: when a
 * hot key throttles it, it is retried with backoff until the lease's end (a lapsed lease would leave them
 * waiting for its takeover instead).
 */
async function completeThroughThrottling(
  state: VendorState,
  clientId: string,
  outcome: RefreshedOutcome,
  deadline: number,
): Promise<boolean> {
  const { clock, config, instanceId, store } = state;
  for (let pauseMs = config.leasePollMs; ; pauseMs = Math.min(pauseMs * 2, config.leasePollMaxMs)) {
    try {
      return await store.completeLease(
        clientId,
        instanceId,
        outcome,
        itemExpiryEpochSeconds(state, outcome.token),
      );
    } catch (error) {
      const failure = storeFailure(state, error, clientId);
      if (!(failure instanceof StoreThrottledError) || clock.now() + pauseMs >= deadline) throw error;
      await clock.sleep(jitter(pauseMs, state.random));
    }
  }
}
