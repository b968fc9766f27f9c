import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { systemClock } from './clock.js';
import {
  assertIdentityUrlAllowed,
  assertRejectedToken,
  assertValidClientId,
  assertValidInstance,
  DEFAULT_IDENTITY_HOSTS,
} from './credentials.js';
import {
  CredentialsRejectedError,
  IdentityUnavailableError,
  InvalidRequestError,
  isTokenVendorError,
  StoreUnavailableError,
  TokenRotatingError,
  TokenVendorError,
  UnknownClientError,
} from './errors.js';
import { fingerprint } from './fingerprint.js';
import { guaranteedRemainingMs, staggerDelayMs } from './pool.js';
import type {
  ClientCredentials,
  Clock,
  Logger,
  MetricsSink,
  RegisteredClient,
  StoredToken,
  TokenRecord,
} from './ports.js';
import type {
  PoolStatus,
  RefreshOptions,
  RefreshSummary,
  TokenSource,
  TokenVendor,
  TokenVendorConfig,
  TokenVendorDeps,
  VendedToken,
  VendOptions,
} from './vendor.js';

/** A token lives 3600 s; asking for more than this much validity can never be satisfied. */
export const MAX_MIN_VALIDITY_SECONDS = 3500;
/** Longest a caller may ask to wait (Lambda's own limit is 15 minutes). */
export const MAX_WAIT_LIMIT_MS = 900_000;
/** Identity attempts per refresh, for retryable failures. */
const MAX_IDENTITY_ATTEMPTS = 4;
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;
/** Longest a refresh waits for a token Identity has not yet rotated. */
const NOT_ROTATED_RETRY_MIN_MS = 500;

export const DEFAULT_TOKEN_VENDOR_CONFIG: TokenVendorConfig = {
  defaultMinValiditySeconds: 20,
  defaultMaxWaitMs: 25_000,
  leaseDurationMs: 15_000,
  leasePollMs: 100,
  identityTimeoutMs: 5_000,
  // Both cover clock skew of ±2 s between Lambdas (test/reliability/process-faults.test.ts).
  rotationGuardSeconds: 5,
  expirySlackMs: 2_500,
  itemRetentionSeconds: 86_400,
  identityUrlPolicy: { allowedHosts: DEFAULT_IDENTITY_HOSTS },
  tokenLifespanSeconds: 3600,
  poolMembershipCacheMs: 60_000,
};

/** Pools by instance name, members sorted by client id; clients without an instance are not pooled. */
const groupByInstance = (clients: readonly RegisteredClient[]): Map<string, string[]> => {
  const pools = new Map<string, string[]>();
  for (const { clientId, instance } of clients) {
    if (instance !== undefined) pools.set(instance, [...(pools.get(instance) ?? []), clientId].sort());
  }
  return pools;
};

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const noMetrics: MetricsSink = { record() {} };

interface Refreshed {
  readonly token: StoredToken;
  readonly source: TokenSource;
}

/** Validates and defaults per-request options; throws `InvalidRequestError` naming the bad option. */
export function resolveVendOptions(
  options: VendOptions | undefined,
  config: Pick<TokenVendorConfig, 'defaultMinValiditySeconds' | 'defaultMaxWaitMs'>,
): { minValidityMs: number; maxWaitMs: number } {
  const minValiditySeconds = options?.minValiditySeconds ?? config.defaultMinValiditySeconds;
  if (
    !Number.isInteger(minValiditySeconds) ||
    minValiditySeconds < 0 ||
    minValiditySeconds > MAX_MIN_VALIDITY_SECONDS
  ) {
    throw new InvalidRequestError(
      `minValidity must be a whole number of seconds from 0 to ${MAX_MIN_VALIDITY_SECONDS}`,
    );
  }
  const maxWaitMs = options?.maxWaitMs ?? config.defaultMaxWaitMs;
  if (!Number.isInteger(maxWaitMs) || maxWaitMs < 0 || maxWaitMs > MAX_WAIT_LIMIT_MS) {
    throw new InvalidRequestError(
      `maxWaitMs must be a whole number of milliseconds from 0 to ${MAX_WAIT_LIMIT_MS}`,
    );
  }
  return { minValidityMs: minValiditySeconds * 1000, maxWaitMs };
}

/**
 * Creates a token engine from its ports. Instances are independent: each has its own memory cache and
 * in-process single flight, and they coordinate through the store's refresh lease.
 */
export function createTokenVendor(
  deps: TokenVendorDeps,
  config: Partial<TokenVendorConfig> = {},
): TokenVendor {
  const cfg: TokenVendorConfig = { ...DEFAULT_TOKEN_VENDOR_CONFIG, ...config };
  const clock: Clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const metrics = deps.metrics ?? noMetrics;
  const random = deps.random ?? Math.random;
  const instanceId = deps.instanceId ?? randomUUID();
  const { store, credentials, identity } = deps;

  const memory = new Map<string, StoredToken>();
  /** Longest one shared refresh may run: a caller's default budget, or two leases (one may lapse). */
  const refreshBudgetMs = Math.max(cfg.defaultMaxWaitMs, cfg.leaseDurationMs * 2);
  const inFlight = new Map<string, Promise<Refreshed>>();

  const remainingMs = (token: StoredToken): number => token.expiresAt - clock.now();
  const isLive = (token: StoredToken): boolean => remainingMs(token) > cfg.rotationGuardSeconds * 1000;
  /** Marketo still holds this token: asking Identity before it expires only returns it again. */
  const isUnexpired = (token: StoredToken): boolean => remainingMs(token) > 0;
  const isUsable = (token: StoredToken, minValidityMs: number): boolean =>
    isLive(token) && remainingMs(token) >= minValidityMs;
  const jitter = (ms: number): number => Math.round(ms * (0.5 + random()));
  const expireItemAtSeconds = (token?: StoredToken): number =>
    Math.ceil(Math.max(token?.expiresAt ?? 0, clock.now()) / 1000) + cfg.itemRetentionSeconds;

  const vended = (clientId: string, token: StoredToken, source: TokenSource): VendedToken => {
    const remaining = remainingMs(token);
    metrics.record(
      source === 'memory' ? 'VendFromMemory' : source === 'store' ? 'VendFromStore' : 'VendFromIdentity',
      1,
      'Count',
    );
    metrics.record('TokenRemainingSeconds', Math.floor(remaining / 1000), 'Seconds');
    return {
      clientId,
      accessToken: token.accessToken,
      tokenType: token.tokenType,
      ...(token.scope === undefined ? {} : { scope: token.scope }),
      expiresAt: token.expiresAt,
      expiresInSeconds: Math.floor(remaining / 1000),
      source,
    };
  };

  /** Resolves with `promise` or rejects with `onTimeout()` at `deadline`, leaving no timer behind. */
  const withDeadline = async <T>(
    promise: Promise<T>,
    deadline: number,
    onTimeout: () => Error,
  ): Promise<T> => {
    const abort = new AbortController();
    const timeout = clock.sleep(Math.max(0, deadline - clock.now()), abort.signal).then(
      () => Promise.reject(onTimeout()),
      () => new Promise<never>(() => {}),
    );
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      abort.abort();
    }
  };

  const readStore = async (clientId: string): Promise<TokenRecord | undefined> => {
    try {
      return await store.get(clientId);
    } catch (error) {
      throw storeFailure(error, clientId);
    }
  };

  const storeFailure = (error: unknown, clientId: string): StoreUnavailableError => {
    metrics.record('StoreErrors', 1, 'Count');
    const reason = error instanceof Error ? error.name : 'unknown error';
    logger.warn('token store unavailable', { clientId, reason });
    return new StoreUnavailableError(`token store unavailable (${reason})`, {
      cause: error,
      retryAfterSeconds: 1,
    });
  };

  const readCredentials = async (clientId: string, bypassCache: boolean): Promise<ClientCredentials> => {
    const creds = await credentials.get(clientId, { bypassCache });
    assertIdentityUrlAllowed(creds.identityUrl, cfg.identityUrlPolicy, `credentials of client "${clientId}"`);
    return creds;
  };

  /**
   * Calls Identity (under the lease, or degraded without it) until it yields a token that is really
   * new: retries retryable failures with jittered exponential backoff inside `deadline`, re-reads the
   * secret once on rejection (rotation), and waits out answers that are not yet rotated.
   */
  const fetchFromIdentity = async (
    clientId: string,
    deadline: number,
    prefetched?: Promise<ClientCredentials>,
  ): Promise<StoredToken> => {
    let creds = await (prefetched ?? readCredentials(clientId, false));
    let rereadSecret = false;
    let failures = 0;
    for (;;) {
      const sentAt = clock.now();
      const timeoutMs = Math.min(cfg.identityTimeoutMs, deadline - sentAt);
      if (timeoutMs <= 0) {
        throw new IdentityUnavailableError(
          `no token from Identity for client "${clientId}" within the wait budget`,
          {
            retryAfterSeconds: 1,
          },
        );
      }
      try {
        metrics.record('IdentityCalls', 1, 'Count');
        const answer = await identity.fetchToken(creds, { timeoutMs });
        const receivedAt = clock.now();
        metrics.record('IdentityLatencyMs', receivedAt - sentAt, 'Milliseconds');
        if (answer.expiresInSeconds <= cfg.rotationGuardSeconds) {
          // Marketo hands out the dying token until the very instant it expires: never cache it.
          const waitMs = Math.max(
            NOT_ROTATED_RETRY_MIN_MS,
            answer.expiresInSeconds * 1000 + cfg.expirySlackMs,
          );
          logger.info('Identity returned a token at its expiry instant; asking again', {
            clientId,
            token: fingerprint(answer.accessToken),
            expiresIn: answer.expiresInSeconds,
            waitMs,
          });
          if (clock.now() + waitMs >= deadline) {
            throw new TokenRotatingError(`the token of client "${clientId}" is rotating; retry shortly`, {
              retryAfterSeconds: Math.ceil(waitMs / 1000),
            });
          }
          await clock.sleep(waitMs);
          continue;
        }
        const token: StoredToken = {
          accessToken: answer.accessToken,
          tokenType: answer.tokenType,
          ...(answer.scope === undefined ? {} : { scope: answer.scope }),
          expiresAt: sentAt + answer.expiresInSeconds * 1000,
          obtainedAt: receivedAt,
        };
        logger.info('fetched token from Identity', {
          clientId,
          token: fingerprint(token.accessToken),
          expiresIn: answer.expiresInSeconds,
          latencyMs: receivedAt - sentAt,
        });
        return token;
      } catch (error) {
        if (error instanceof TokenRotatingError) throw error;
        metrics.record('IdentityErrors', 1, 'Count');
        if (error instanceof CredentialsRejectedError) {
          if (!rereadSecret) {
            rereadSecret = true;
            logger.warn('Identity rejected the credentials; re-reading the secret once', { clientId });
            creds = await readCredentials(clientId, true);
            continue;
          }
          metrics.record('CredentialsRejected', 1, 'Count');
          logger.error('Identity rejected the credentials', { clientId, code: error.code });
          throw error;
        }
        const typed = isTokenVendorError(error)
          ? error
          : new IdentityUnavailableError(`Identity call failed for client "${clientId}"`, { cause: error });
        failures += 1;
        const backoffMs = Math.max(
          (typed.retryAfterSeconds ?? 0) * 1000,
          jitter(Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (failures - 1))),
        );
        logger.warn('Identity call failed', {
          clientId,
          code: typed.code,
          attempt: failures,
          reason: typed.message,
        });
        if (failures >= MAX_IDENTITY_ATTEMPTS || clock.now() + backoffMs >= deadline) {
          // Every 503 tells the caller when to come back, also when Identity itself gave no hint.
          if (typed instanceof IdentityUnavailableError && typed.retryAfterSeconds === undefined) {
            throw new IdentityUnavailableError(typed.message, {
              cause: typed,
              retryAfterSeconds: Math.max(1, Math.ceil(backoffMs / 1000)),
            });
          }
          throw typed;
        }
        await clock.sleep(backoffMs);
      }
    }
  };

  /**
   * The cross-instance single flight. Reads the store; returns a live token other than `stale` if one is
   * there; waits while someone else holds the lease; otherwise takes the lease (compare-and-swap on the
   * item's version), calls Identity and stores the result. With `checkedSince` (an invalidation), a
   * successful refresh completed after that version also settles it, even if Identity kept the token.
   */
  const refreshViaLease = async (
    clientId: string,
    stale: string | undefined,
    deadline: number,
    checkedSince: number | undefined,
  ): Promise<Refreshed> => {
    let waited = false;
    for (;;) {
      const now = clock.now();
      if (now >= deadline) {
        throw new IdentityUnavailableError(
          `token refresh for client "${clientId}" did not finish within the wait budget`,
          {
            retryAfterSeconds: 1,
          },
        );
      }
      const record = await readStore(clientId);
      const current = record?.token;
      if (current && isLive(current)) {
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
        await clock.sleep(Math.min(jitter(cfg.leasePollMs), Math.max(1, lease.leaseUntil - now)));
        continue;
      }
      if (lease && lease.owner !== instanceId) {
        metrics.record('LeaseTakeovers', 1, 'Count');
        logger.warn('refresh lease lapsed; taking over', { clientId, leaseUntil: lease.leaseUntil });
      }
      const leaseUntil = now + cfg.leaseDurationMs;
      // Read the secret while the lease write is in flight: it is on the miss path's critical path.
      const credentials = readCredentials(clientId, false);
      credentials.catch(() => {});
      let acquired: TokenRecord | undefined;
      try {
        acquired = await store.acquireLease(
          clientId,
          record?.version,
          { owner: instanceId, leaseUntil },
          expireItemAtSeconds(current),
        );
      } catch (error) {
        throw storeFailure(error, clientId);
      }
      if (!acquired) continue;
      return {
        token: await refreshUnderLease(clientId, Math.min(deadline, leaseUntil), current, credentials),
        source: 'identity',
      };
    }
  };

  const refreshUnderLease = async (
    clientId: string,
    deadline: number,
    previous: StoredToken | undefined,
    credentials: Promise<ClientCredentials>,
  ): Promise<StoredToken> => {
    let token: StoredToken;
    try {
      token = await fetchFromIdentity(clientId, deadline, credentials);
    } catch (error) {
      const typed = isTokenVendorError(error) ? error : undefined;
      const lastError = {
        code: typed?.code ?? 'InternalError',
        message: typed?.message ?? 'unexpected error during refresh',
        at: clock.now(),
      };
      // The previous token stays: a failed refresh never deletes what may still be valid.
      await store
        .completeLease(clientId, instanceId, { error: lastError }, expireItemAtSeconds(previous))
        .catch((storeError: unknown) => storeFailure(storeError, clientId));
      throw error;
    }
    try {
      const stored = await store.completeLease(clientId, instanceId, { token }, expireItemAtSeconds(token));
      if (!stored) logger.warn('refresh lease was taken over before the token was stored', { clientId });
    } catch (error) {
      // The token is real; consumers get it even if the store write failed.
      storeFailure(error, clientId);
    }
    return token;
  };

  /** In-process single flight around the lease: concurrent callers in one instance share one promise. */
  const refreshShared = (
    clientId: string,
    stale: string | undefined,
    callerDeadline: number,
    checkedSince?: number,
  ): Promise<Refreshed> => {
    let flight = inFlight.get(clientId);
    if (!flight) {
      const flightDeadline = clock.now() + refreshBudgetMs;
      flight = refreshViaLease(clientId, stale, flightDeadline, checkedSince)
        .catch(async (error: unknown): Promise<Refreshed> => {
          if (!(error instanceof StoreUnavailableError)) throw error;
          // Without the shared store, still serve: Identity returns the same token while it is valid.
          logger.warn('refreshing without the shared lease', { clientId });
          return { token: await fetchFromIdentity(clientId, flightDeadline), source: 'identity' };
        })
        .then((refreshed) => {
          memory.set(clientId, refreshed.token);
          return refreshed;
        })
        .finally(() => inFlight.delete(clientId));
      inFlight.set(clientId, flight);
    }
    return withDeadline(
      flight,
      callerDeadline,
      () =>
        new IdentityUnavailableError(`no token for client "${clientId}" within the wait budget`, {
          retryAfterSeconds: 1,
        }),
    );
  };

  const currentToken = async (
    clientId: string,
  ): Promise<{ token?: StoredToken; source: TokenSource; version?: number }> => {
    const inMemory = memory.get(clientId);
    let record: TokenRecord | undefined;
    try {
      record = await store.get(clientId);
    } catch (error) {
      storeFailure(error, clientId);
      return inMemory ? { token: inMemory, source: 'memory' } : { source: 'store' };
    }
    if (record?.token) memory.set(clientId, record.token);
    return { token: record?.token, source: 'store', version: record?.version };
  };

  /** This instance's token when it serves `minValidityMs`, else the store's (no store read on a memory hit). */
  const knownToken = async (
    clientId: string,
    minValidityMs: number,
  ): Promise<{ token?: StoredToken; source: TokenSource; version?: number }> => {
    const inMemory = memory.get(clientId);
    if (inMemory && isUsable(inMemory, minValidityMs)) return { token: inMemory, source: 'memory' };
    return currentToken(clientId);
  };

  const obtain = async (clientId: string, minValidityMs: number, deadline: number): Promise<VendedToken> => {
    for (;;) {
      const { token, source } = await knownToken(clientId, minValidityMs);
      if (token && isUsable(token, minValidityMs)) return vended(clientId, token, source);
      if (token && isUnexpired(token)) {
        // Valid but too short for this caller, and Marketo rotates only at expiry: wait it out if the
        // budget allows, else say so (never hand out a token that dies in flight).
        const readyAt = token.expiresAt + cfg.expirySlackMs;
        if (readyAt >= deadline) {
          metrics.record('TokenRotating', 1, 'Count');
          throw new TokenRotatingError(
            `the token of client "${clientId}" expires in ${Math.floor(remainingMs(token) / 1000)} s, less than the ` +
              `${minValidityMs / 1000} s asked for, and its successor is only issued at expiry; retry after it`,
            { retryAfterSeconds: Math.max(1, Math.ceil((readyAt - clock.now()) / 1000)) },
          );
        }
        await clock.sleep(readyAt - clock.now());
        continue;
      }
      const refreshed = await refreshShared(clientId, token?.accessToken, deadline);
      if (isUsable(refreshed.token, minValidityMs))
        return vended(clientId, refreshed.token, refreshed.source);
      // Shorter than asked (Identity reconfirmed an old token): the next round waits it out or says so.
    }
  };

  const getToken = async (clientId: string, options?: VendOptions): Promise<VendedToken> => {
    assertValidClientId(clientId);
    const { minValidityMs, maxWaitMs } = resolveVendOptions(options, cfg);
    return obtain(clientId, minValidityMs, clock.now() + maxWaitMs);
  };

  const invalidate = async (
    clientId: string,
    rejectedAccessToken: string,
    options?: VendOptions,
  ): Promise<VendedToken> => {
    assertValidClientId(clientId);
    assertRejectedToken(rejectedAccessToken);
    const { minValidityMs, maxWaitMs } = resolveVendOptions(options, cfg);
    metrics.record('Invalidations', 1, 'Count');
    const rejected = fingerprint(rejectedAccessToken);
    if (memory.get(clientId)?.accessToken === rejectedAccessToken) memory.delete(clientId);
    const deadline = clock.now() + maxWaitMs;
    const { token, version } = await currentToken(clientId);
    if (token?.accessToken !== rejectedAccessToken) {
      logger.info('invalidate: token already replaced', { clientId, rejected });
      return obtain(clientId, minValidityMs, deadline);
    }
    logger.info('invalidate: refreshing rejected token', { clientId, rejected });
    const refreshed = await refreshShared(clientId, rejectedAccessToken, deadline, version ?? 0);
    if (isUsable(refreshed.token, minValidityMs)) return vended(clientId, refreshed.token, refreshed.source);
    return obtain(clientId, minValidityMs, deadline);
  };

  /** Pool membership by instance, from the credentials source, reused for `poolMembershipCacheMs`. */
  let membership: { readonly at: number; readonly byInstance: Map<string, string[]> } | undefined;
  const poolMembers = async (instance: string): Promise<string[]> => {
    if (!membership || clock.now() - membership.at >= cfg.poolMembershipCacheMs) {
      membership = { at: clock.now(), byInstance: groupByInstance(await credentials.list()) };
    }
    const members = membership.byInstance.get(instance);
    if (!members || members.length === 0) {
      throw new UnknownClientError(`no clients registered for instance "${instance}"`);
    }
    return members;
  };

  const getInstanceToken = async (instance: string, options?: VendOptions): Promise<VendedToken> => {
    assertValidInstance(instance);
    const { minValidityMs, maxWaitMs } = resolveVendOptions(options, cfg);
    const deadline = clock.now() + maxWaitMs;
    const members = await poolMembers(instance);
    const failed = new Map<string, unknown>();
    let refreshedMissing = false;
    for (;;) {
      const candidates = members.filter((id) => !failed.has(id));
      const states = await Promise.all(
        candidates.map(async (clientId) => ({ clientId, ...(await knownToken(clientId, minValidityMs)) })),
      );
      let best: { clientId: string; token: StoredToken; source: TokenSource } | undefined;
      for (const state of states) {
        if (
          state.token &&
          isUsable(state.token, minValidityMs) &&
          (!best || state.token.expiresAt > best.token.expiresAt)
        ) {
          best = { clientId: state.clientId, token: state.token, source: state.source };
        }
      }
      if (best) return vended(best.clientId, best.token, best.source);
      const expired = states.filter((s) => !s.token || !isUnexpired(s.token));
      if (expired.length > 0 && !refreshedMissing) {
        // No member can serve: fetch one member whose token is gone now (one, to keep the stagger).
        refreshedMissing = true;
        for (const { clientId, token } of expired) {
          try {
            await refreshShared(clientId, token?.accessToken, deadline);
            break;
          } catch (error) {
            failed.set(clientId, error);
            metrics.record('PoolMemberFailed', 1, 'Count');
            logger.error('pool member failed; serving from the others', {
              instance,
              clientId,
              code: error instanceof TokenVendorError ? error.code : 'InternalError',
            });
          }
        }
        continue;
      }
      const live = states.filter((s) => s.token && isUnexpired(s.token)).map((s) => s.token as StoredToken);
      if (live.length === 0) {
        throw (
          failed.values().next().value ??
          new IdentityUnavailableError(`no member of instance "${instance}" has a token`)
        );
      }
      const soonest = Math.min(...live.map((t) => t.expiresAt));
      const readyAt = soonest + cfg.expirySlackMs;
      if (readyAt >= deadline) {
        metrics.record('TokenRotating', 1, 'Count');
        throw new TokenRotatingError(
          `no member of instance "${instance}" has ${minValidityMs / 1000} s of validity left and the next token is ` +
            'only issued at expiry; retry after it',
          { retryAfterSeconds: Math.max(1, Math.ceil((readyAt - clock.now()) / 1000)) },
        );
      }
      await clock.sleep(readyAt - clock.now());
      refreshedMissing = false;
    }
  };

  const invalidateInstance = async (
    instance: string,
    rejectedAccessToken: string,
    options?: VendOptions,
  ): Promise<VendedToken> => {
    assertValidInstance(instance);
    assertRejectedToken(rejectedAccessToken);
    const members = await poolMembers(instance);
    const holders = await Promise.all(
      members.map(async (clientId) =>
        memory.get(clientId)?.accessToken === rejectedAccessToken ||
        (await currentToken(clientId)).token?.accessToken === rejectedAccessToken
          ? clientId
          : undefined,
      ),
    );
    const holder = holders.find((clientId) => clientId !== undefined);
    if (holder !== undefined) await invalidate(holder, rejectedAccessToken, options);
    else
      logger.info('invalidate: pool token already replaced', {
        instance,
        rejected: fingerprint(rejectedAccessToken),
      });
    return getInstanceToken(instance, options);
  };

  const refreshAll = async (options?: RefreshOptions): Promise<RefreshSummary> => {
    const horizonMs = options?.horizonMs ?? 60_000;
    const limit = pLimit(options?.concurrency ?? 8);
    const sweepStart = clock.now();
    const lifespanMs = cfg.tokenLifespanSeconds * 1000;
    const clients = options?.clients ?? (await credentials.list());
    const pools = groupByInstance(clients);
    const counts = { fetched: 0, waited: 0, valid: 0, deferred: 0 };
    const failures: Array<{ clientId: string; code: string }> = [];
    const expiries = new Map<string, number>();
    const fail = (clientId: string, error: unknown): void => {
      const code = error instanceof TokenVendorError ? error.code : 'InternalError';
      failures.push({ clientId, code });
      metrics.record('RefreshFailed', 1, 'Count');
      logger.warn('refresh failed', { clientId, code });
    };
    const deadlineFor = (start: number): number => start + refreshBudgetMs;

    // Phase 1: every client's current token (pool decisions need the other members' expiries).
    const tokens = new Map<string, StoredToken | undefined>();
    await Promise.all(
      clients.map(({ clientId }) =>
        limit(async () => {
          try {
            const token = (await readStore(clientId))?.token;
            tokens.set(clientId, token);
            if (token) expiries.set(clientId, token.expiresAt);
          } catch (error) {
            fail(clientId, error);
          }
        }),
      ),
    );

    // Phase 2: each client waits for its own expiry outside the limiter, so waiting never blocks fetching.
    const refreshOne = async (clientId: string, pool?: readonly string[]): Promise<void> => {
      if (!tokens.has(clientId)) return;
      const token = tokens.get(clientId);
      try {
        let outcome: 'fetched' | 'waited' = 'fetched';
        if (token && isUnexpired(token)) {
          if (token.expiresAt >= sweepStart + horizonMs) {
            counts.valid += 1;
            return;
          }
          await clock.sleep(token.expiresAt + cfg.expirySlackMs - clock.now());
          outcome = 'waited';
        }
        if (pool) {
          const others = pool.filter((id) => id !== clientId).flatMap((id) => expiries.get(id) ?? []);
          const delayMs = staggerDelayMs(clock.now(), lifespanMs, others, pool.length);
          if (delayMs > 0 && clock.now() + delayMs > sweepStart + horizonMs) {
            counts.deferred += 1;
            logger.info('pool member deferred to keep expiries staggered', { clientId, delayMs });
            return;
          }
          if (delayMs > 0) await clock.sleep(delayMs);
        }
        const refreshed = await limit(() =>
          refreshShared(clientId, token?.accessToken, deadlineFor(clock.now())),
        );
        expiries.set(clientId, refreshed.token.expiresAt);
        counts[outcome] += 1;
        metrics.record(outcome === 'fetched' ? 'RefreshFetched' : 'RefreshWaited', 1, 'Count');
      } catch (error) {
        fail(clientId, error);
      }
    };
    const byNeed = (a: string, b: string): number =>
      (tokens.get(a)?.expiresAt ?? 0) - (tokens.get(b)?.expiresAt ?? 0);
    await Promise.all([
      ...clients.filter((c) => c.instance === undefined).map((c) => refreshOne(c.clientId)),
      // Pool members decide one after another, soonest need first, each seeing the others' new expiries.
      ...[...pools.values()].map(async (members) => {
        for (const clientId of [...members].sort(byNeed)) await refreshOne(clientId, members);
      }),
    ]);

    const now = clock.now();
    const poolStatus: PoolStatus[] = [...pools.entries()].map(([instance, members]) => {
      const live = members.flatMap((id) => {
        const expiresAt = expiries.get(id);
        return expiresAt !== undefined && expiresAt > now ? [expiresAt] : [];
      });
      const guaranteedMinRemainingSeconds = Math.floor(guaranteedRemainingMs(live, lifespanMs) / 1000);
      metrics.record('PoolGuaranteedRemainingSeconds', guaranteedMinRemainingSeconds, 'Seconds');
      return { instance, members: members.length, liveMembers: live.length, guaranteedMinRemainingSeconds };
    });
    const summary: RefreshSummary = {
      clients: clients.length,
      ...counts,
      failed: failures.length,
      failures: failures.sort((a, b) => a.clientId.localeCompare(b.clientId)),
      pools: poolStatus,
    };
    logger.info('refresh summary', { ...summary, failures: summary.failures.slice(0, 50) });
    return summary;
  };

  return { getToken, invalidate, getInstanceToken, invalidateInstance, refreshAll };
}
