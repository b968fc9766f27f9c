import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { failOnAccessDenied, rejectAccessDenied } from './access-denied.js';
import {
  DEFAULT_MIN_VALIDITY_SECONDS,
  defaultRetryBudgetMs,
  REQUEST_MIN_VALIDITY_SECONDS,
} from './defaults.js';
import { TokenVendorClientError } from './errors.js';
import { responseRejectionCode, tokenRejectionCode } from './marketo.js';
import {
  type BudgetOptions,
  type BudgetStats,
  createPermits,
  type MarketoLimitCode,
  marketoLimitCode,
  type PermitTarget,
  responseLimitCode,
} from './permits.js';
import {
  type AwsCredentials,
  type AwsCredentialsInput,
  type ClientClock,
  createSignedCaller,
  realClock,
} from './signed-call.js';

export type { AwsCredentials, AwsCredentialsInput, ClientClock };

/** A Marketo access token as handed out by the vendor. */
export interface MarketoToken {
  /** The Custom Service the token belongs to (for pools: the member that was picked). */
  readonly clientId: string;
  readonly accessToken: string;
  readonly tokenType: string;
  readonly scope?: string;
  /** Epoch ms on this machine's clock: the vendor's expiry, never later than receipt + `expiresIn`. */
  readonly expiresAt: number;
}

/** Options of {@link createTokenClient}. */
export interface TokenClientOptions {
  /** Base URL of the token API, including the stage: `https://abc.execute-api.eu-west-1.amazonaws.com/prod`. */
  readonly endpoint: string;
  /** Region the API lives in (the SigV4 signing region). */
  readonly region: string;
  /** @default the default AWS credential chain (`fromNodeProviderChain()`): works unchanged in Lambda */
  readonly credentials?: AwsCredentialsInput;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Seconds of validity `getToken` / `getInstanceToken` ask for when the call names none: the API's default.
   * @default 20 (DEFAULT_MIN_VALIDITY_SECONDS)
   */
  readonly defaultMinValiditySeconds?: number;
  /**
   * Seconds of validity `marketoFetch` / `withToken` / `withInstanceToken` ask for when the call names none:
   * enough for one request to reach Marketo (601/602 are recovered from once).
   * @default 1 (REQUEST_MIN_VALIDITY_SECONDS)
   */
  readonly requestMinValiditySeconds?: number;
  /**
   * Longest total wait for 503/429 retries (honouring `Retry-After`) per call.
   * @default the rotation window of the call: its `minValidity` + 30 s (see `defaultRetryBudgetMs`)
   */
  readonly retryBudgetMs?: number;
  /** Time source; injectable for tests. @default Date.now and setTimeout */
  readonly clock?: ClientClock;
  /**
   * The instance's shared Marketo API budget: `marketoFetch` / `withToken` / `withInstanceToken` take a permit
   * before each Marketo call and release it after; `false` turns it off. @default on
   */
  readonly budget?: BudgetOptions | false;
}

/** Per-call options. */
export interface GetTokenOptions {
  /**
   * Seconds the token must still be valid for.
   * @default options.defaultMinValiditySeconds (getToken) or options.requestMinValiditySeconds (per-request helpers)
   */
  readonly minValidity?: number;
  /**
   * Longest total wait of this call for 503/429 retries; past it the error (e.g. `TokenRotating`, with
   * `retryAfterSeconds`) is thrown. Set it below your own deadline (e.g. a Lambda's remaining time).
   * @default options.retryBudgetMs
   */
  readonly retryBudgetMs?: number;
}

/** The consumer's view of the token vendor. */
export interface TokenClient {
  /**
   * A token with at least `minValidity` seconds left (default 20, as the API's): from memory, else from the
   * vendor (one request for concurrent callers). Near an expiry the vendor may answer `503` with
   * `Retry-After`: the call waits that out within its retry budget (by default the rotation window).
   */
  getToken(clientId: string, options?: GetTokenOptions): Promise<MarketoToken>;
  /**
   * Reports a token Marketo rejected (601/602) and returns its replacement. Concurrent reports of the
   * same token share one request.
   */
  invalidate(clientId: string, accessToken: string): Promise<MarketoToken>;
  /**
   * Runs `fn(token)`. If it throws a 601/602 (a `MarketoApiError`, or any error with such a `code`) or
   * returns a Marketo body with a 601/602 error, the token is invalidated and `fn` runs once more with
   * the replacement; whatever the second run does is final. The token needs only cover one request:
   * `minValidity` defaults to `requestMinValiditySeconds` (1).
   */
  withToken<T>(
    clientId: string,
    fn: (token: MarketoToken) => Promise<T>,
    options?: GetTokenOptions,
  ): Promise<T>;
  /**
   * `fetch` for Marketo REST: adds `Authorization: Bearer <token>` (never the `access_token` query
   * parameter) and, when the JSON body reports 601/602, invalidates and retries once. `minValidity`
   * defaults to `requestMinValiditySeconds` (1): one request.
   */
  marketoFetch(clientId: string, url: string | URL, init?: RequestInit & GetTokenOptions): Promise<Response>;
  /**
   * The freshest token of an instance pool (several Custom Services of one Marketo instance) with at
   * least `minValidity` seconds left; `clientId` names the member it came from.
   */
  getInstanceToken(instance: string, options?: GetTokenOptions): Promise<MarketoToken>;
  /**
   * {@link withToken} for a pool: on 601/602 the token is reported to the pool
   * (`POST /instances/{instance}/invalidate`) and `fn` runs once more with the pool's best token.
   */
  withInstanceToken<T>(
    instance: string,
    fn: (token: MarketoToken) => Promise<T>,
    options?: GetTokenOptions,
  ): Promise<T>;
  /** What the shared API budget did for this client: permits, waits, 606/615/607 seen. */
  budgetStats(): Readonly<BudgetStats>;
  /** Forgets cached tokens (all, or one client's). */
  clear(clientId?: string): void;
}

/**
 * What a token is fetched for. Clients today; pools (`/instances/{instance}/token`) are another target
 * with their own cache key and path, sharing the cache, single flight and retry logic.
 */
interface TokenTarget {
  readonly cacheKey: string;
  /** Whose share of the instance's API budget each Marketo call takes. */
  readonly permits: PermitTarget;
  readonly path: string;
  /** Where a token of this target that Marketo rejected is reported. */
  readonly invalidatePath: string;
}

/** Client ids and instance names share one alphabet (the vendor's; a spec test compares the two). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const assertName = (value: string, what: 'clientId' | 'instance'): void => {
  if (!NAME_PATTERN.test(value)) {
    throw new TokenVendorClientError(
      'InvalidRequest',
      `${what} must be 1-128 characters of A-Z, a-z, 0-9, ".", "_" or "-", starting with a letter or digit`,
      { status: 400 },
    );
  }
};

const clientTarget = (clientId: string): TokenTarget => {
  assertName(clientId, 'clientId');
  return {
    cacheKey: `client:${clientId}`,
    permits: { clientId },
    path: `/tokens/${clientId}`,
    invalidatePath: `/tokens/${clientId}/invalidate`,
  };
};

const instanceTarget = (instance: string): TokenTarget => {
  assertName(instance, 'instance');
  return {
    cacheKey: `instance:${instance}`,
    permits: { instance },
    path: `/instances/${instance}/token`,
    invalidatePath: `/instances/${instance}/invalidate`,
  };
};

/** What one call asks the vendor for, and how long it may wait. */
interface Demand {
  readonly minValidity: number;
  readonly retryBudgetMs: number;
}

/** Creates a SigV4-signing client of the token vendor API with an in-memory token cache. */
export function createTokenClient(options: TokenClientOptions): TokenClient {
  const clock = options.clock ?? realClock;
  const call = createSignedCaller({
    endpoint: options.endpoint,
    region: options.region,
    credentials: options.credentials ?? fromNodeProviderChain(),
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    clock,
  });
  const permits = createPermits({
    call,
    clock,
    ...(options.budget === undefined ? {} : { budget: options.budget }),
  });
  const tokenMinValidity = options.defaultMinValiditySeconds ?? DEFAULT_MIN_VALIDITY_SECONDS;
  const requestMinValidity = options.requestMinValiditySeconds ?? REQUEST_MIN_VALIDITY_SECONDS;
  const demand = (opts: GetTokenOptions, defaultMinValidity: number): Demand => {
    const minValidity = opts.minValidity ?? defaultMinValidity;
    return {
      minValidity,
      retryBudgetMs: opts.retryBudgetMs ?? options.retryBudgetMs ?? defaultRetryBudgetMs(minValidity),
    };
  };

  const cache = new Map<string, MarketoToken>();
  const inFlight = new Map<
    string,
    { readonly minValidity: number; readonly promise: Promise<MarketoToken> }
  >();
  const invalidations = new Map<string, Promise<MarketoToken>>();

  /**
   * `receivedAt`: when the answer arrived. The vendor counts `expiresIn` (whole seconds, rounded down) when it
   * answers, so counting from the arrival loses no life to waits before it (Retry-After sleeps, or the vendor
   * waiting for a successor), and the rounding covers the answer's way back.
   */
  const toToken = (body: unknown, receivedAt: number): MarketoToken => {
    const b = body as Record<string, unknown> | undefined;
    if (
      !b ||
      typeof b.accessToken !== 'string' ||
      typeof b.clientId !== 'string' ||
      typeof b.expiresIn !== 'number'
    ) {
      throw new TokenVendorClientError('BadResponse', 'token vendor answered without a token', {
        status: 200,
      });
    }
    const byLifetime = receivedAt + b.expiresIn * 1000;
    const stated = typeof b.expiresAt === 'string' ? Date.parse(b.expiresAt) : Number.NaN;
    return {
      clientId: b.clientId,
      accessToken: b.accessToken,
      tokenType: typeof b.tokenType === 'string' ? b.tokenType : 'bearer',
      ...(typeof b.scope === 'string' ? { scope: b.scope } : {}),
      // The vendor's clock may differ from ours: trust whichever expiry comes first.
      expiresAt: Number.isNaN(stated) ? byLifetime : Math.min(stated, byLifetime),
    };
  };

  const fresh = (token: MarketoToken | undefined, minValidity: number): token is MarketoToken =>
    token !== undefined && token.expiresAt - clock.now() >= minValidity * 1000;

  const fetchToken = (target: TokenTarget, wanted: Demand): Promise<MarketoToken> => {
    const pending = inFlight.get(target.cacheKey);
    if (pending && pending.minValidity >= wanted.minValidity) return pending.promise;
    const promise = (async () => {
      const { body, receivedAt } = await call({
        method: 'GET',
        path: target.path,
        query: { minValidity: String(wanted.minValidity) },
        retryBudgetMs: wanted.retryBudgetMs,
      });
      const token = toToken(body, receivedAt);
      cache.set(target.cacheKey, token);
      return token;
    })().finally(() => {
      if (inFlight.get(target.cacheKey)?.promise === promise) inFlight.delete(target.cacheKey);
    });
    inFlight.set(target.cacheKey, { minValidity: wanted.minValidity, promise });
    return promise;
  };

  const getTargetToken = async (target: TokenTarget, wanted: Demand): Promise<MarketoToken> => {
    const cached = cache.get(target.cacheKey);
    if (fresh(cached, wanted.minValidity)) return cached;
    return fetchToken(target, wanted);
  };

  /** Reports `accessToken` against the target (a client, or the pool holding it); concurrent reports share one request. */
  const invalidateTarget = async (
    target: TokenTarget,
    accessToken: string,
    wanted: Demand,
  ): Promise<MarketoToken> => {
    const key = `${target.cacheKey}\n${accessToken}`;
    const pending = invalidations.get(key);
    if (pending) return pending;
    // The dead token may also be cached as a pool's token.
    for (const [cacheKey, cached] of cache) if (cached.accessToken === accessToken) cache.delete(cacheKey);
    const promise = (async () => {
      const { body, receivedAt } = await call({
        method: 'POST',
        path: target.invalidatePath,
        query: { minValidity: String(wanted.minValidity) },
        body: { accessToken },
        retryBudgetMs: wanted.retryBudgetMs,
      });
      const token = toToken(body, receivedAt);
      cache.set(target.cacheKey, token);
      return token;
    })().finally(() => invalidations.delete(key));
    invalidations.set(key, promise);
    return promise;
  };

  /**
   * One Marketo call under a permit of the instance's shared budget, with the token taken after the permit
   * (a one-second token cannot go stale while the permit is waited for). `replacing`: the token Marketo
   * rejected, reported (601/602) under the permit of the call that retries it; a retry after a 606/615 then
   * takes the replacement from the cache. Returns the call's outcome and the token it used.
   */
  const callUnderPermit = <T>(
    target: TokenTarget,
    wanted: Demand,
    call: (token: MarketoToken) => Promise<T>,
    limitOf: (outcome: {
      readonly value?: T;
      readonly error?: unknown;
    }) => Promise<MarketoLimitCode | undefined>,
    replacing?: MarketoToken,
  ): Promise<{ readonly result: T; readonly token: MarketoToken }> => {
    let reported = replacing === undefined;
    let used: MarketoToken | undefined;
    return permits
      .run(
        target.permits,
        async () => {
          const token = reported
            ? await getTargetToken(target, wanted)
            : await invalidateTarget(target, (replacing as MarketoToken).accessToken, wanted);
          reported = true;
          used = token;
          return token;
        },
        call,
        limitOf,
      )
      .then((result) => ({ result, token: used as MarketoToken }));
  };

  /** Runs `fn` with the target's token; on a 601/602 invalidates it (against its member) and runs once more. */
  const withTargetToken = async <T>(
    target: TokenTarget,
    fn: (token: MarketoToken) => Promise<T>,
    opts: GetTokenOptions,
  ): Promise<T> => {
    const wanted = demand(opts, requestMinValidity);
    const limitOf = async ({ value, error }: { readonly value?: T; readonly error?: unknown }) =>
      marketoLimitCode(error ?? value);
    let used: MarketoToken | undefined;
    try {
      const first = await callUnderPermit(
        target,
        wanted,
        (token) => {
          used = token;
          return fn(token);
        },
        limitOf,
      );
      if (tokenRejectionCode(first.result) === undefined) return first.result;
    } catch (error) {
      if (used === undefined || tokenRejectionCode(error) === undefined) throw error;
    }
    return (await callUnderPermit(target, wanted, fn, limitOf, used)).result;
  };

  return {
    getToken: async (clientId, opts = {}) =>
      getTargetToken(clientTarget(clientId), demand(opts, tokenMinValidity)),
    getInstanceToken: async (instance, opts = {}) =>
      getTargetToken(instanceTarget(instance), demand(opts, tokenMinValidity)),
    invalidate: async (clientId, accessToken) =>
      invalidateTarget(clientTarget(clientId), accessToken, demand({}, tokenMinValidity)),
    withToken: (clientId, fn, opts = {}) =>
      withTargetToken(clientTarget(clientId), failOnAccessDenied(fn), opts),
    withInstanceToken: (instance, fn, opts = {}) =>
      withTargetToken(instanceTarget(instance), failOnAccessDenied(fn), opts),
    async marketoFetch(clientId, url, init = {}) {
      const { minValidity, retryBudgetMs, ...requestInit } = init;
      const target = new URL(url);
      if (target.searchParams.has('access_token')) {
        // Marketo is removing the query parameter; a token there would also end up in access logs.
        throw new TokenVendorClientError('InvalidRequest', 'do not put access_token in the URL', {
          status: 400,
        });
      }
      const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
      const vendor = clientTarget(clientId);
      const send = (token: MarketoToken): Promise<Response> => {
        const headers = new Headers(requestInit.headers);
        headers.set('authorization', `Bearer ${token.accessToken}`);
        // A 603 is the role's, not the token's: thrown as MarketoAccessDenied, never retried or invalidated.
        return doFetch(target, { ...requestInit, headers }).then((response) =>
          rejectAccessDenied(response, token.clientId, {
            method: requestInit.method ?? 'GET',
            path: target.pathname,
          }),
        );
      };
      const limitOf = async ({ value }: { readonly value?: Response }) =>
        value === undefined ? undefined : responseLimitCode(value);
      const wanted = demand(
        {
          ...(minValidity === undefined ? {} : { minValidity }),
          ...(retryBudgetMs === undefined ? {} : { retryBudgetMs }),
        },
        requestMinValidity,
      );
      const first = await callUnderPermit(vendor, wanted, send, limitOf);
      if ((await responseRejectionCode(first.result)) === undefined) return first.result;
      // Marketo answers 601/602 with HTTP 200: replace the token and try once more (bodies must be replayable).
      await first.result.body?.cancel();
      return (await callUnderPermit(vendor, wanted, send, limitOf, first.token)).result;
    },
    budgetStats: () => permits.stats(),
    clear(clientId) {
      if (clientId === undefined) cache.clear();
      else cache.delete(clientTarget(clientId).cacheKey);
    },
  };
}
