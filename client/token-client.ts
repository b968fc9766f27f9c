import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { errorFromResponse, TokenVendorClientError } from './errors.js';
import { responseRejectionCode, tokenRejectionCode } from './marketo.js';

/** AWS credentials as the SigV4 signer takes them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** Static credentials or a provider (e.g. from `@aws-sdk/credential-providers`). */
export type AwsCredentialsInput = AwsCredentials | (() => Promise<AwsCredentials>);

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
  /** Seconds of life a token must have left to be used. @default 60 */
  readonly defaultMinValiditySeconds?: number;
  /** Longest total wait for 503/429 retries (honouring `Retry-After`) per call. @default 10_000 */
  readonly retryBudgetMs?: number;
  /** Time source; injectable for tests. @default Date.now and setTimeout */
  readonly clock?: { now(): number; sleep(ms: number): Promise<void> };
}

/** Per-call options. */
export interface GetTokenOptions {
  /** Seconds the token must still be valid for. @default options.defaultMinValiditySeconds */
  readonly minValidity?: number;
}

/** The consumer's view of the token vendor. */
export interface TokenClient {
  /** A token with at least `minValidity` seconds left: from memory, else from the vendor (one request for concurrent callers). */
  getToken(clientId: string, options?: GetTokenOptions): Promise<MarketoToken>;
  /**
   * Reports a token Marketo rejected (601/602) and returns its replacement. Concurrent reports of the
   * same token share one request.
   */
  invalidate(clientId: string, accessToken: string): Promise<MarketoToken>;
  /**
   * Runs `fn(token)`. If it throws a 601/602 (a `MarketoApiError`, or any error with such a `code`) or
   * returns a Marketo body with a 601/602 error, the token is invalidated and `fn` runs once more with
   * the replacement; whatever the second run does is final.
   */
  withToken<T>(
    clientId: string,
    fn: (token: MarketoToken) => Promise<T>,
    options?: GetTokenOptions,
  ): Promise<T>;
  /**
   * `fetch` for Marketo REST: adds `Authorization: Bearer <token>` (never the `access_token` query
   * parameter) and, when the JSON body reports 601/602, invalidates and retries once.
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
  /** Forgets cached tokens (all, or one client's). */
  clear(clientId?: string): void;
}

/**
 * What a token is fetched for. Clients today; pools (`/instances/{instance}/token`) are another target
 * with their own cache key and path, sharing the cache, single flight and retry logic.
 */
interface TokenTarget {
  readonly cacheKey: string;
  readonly path: string;
  /** Where a token of this target that Marketo rejected is reported. */
  readonly invalidatePath: string;
}

/** Client ids and instance names share one alphabet (the vendor's). */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

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
    path: `/tokens/${clientId}`,
    invalidatePath: `/tokens/${clientId}/invalidate`,
  };
};

const instanceTarget = (instance: string): TokenTarget => {
  assertName(instance, 'instance');
  return {
    cacheKey: `instance:${instance}`,
    path: `/instances/${instance}/token`,
    invalidatePath: `/instances/${instance}/invalidate`,
  };
};

const realClock = {
  now: () => Date.now(),
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

const parseRetryAfter = (value: string | null): number | undefined => {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
};

/** Creates a SigV4-signing client of the token vendor API with an in-memory token cache. */
export function createTokenClient(options: TokenClientOptions): TokenClient {
  const base = new URL(options.endpoint.replace(/\/+$/, ''));
  const basePath = base.pathname === '/' ? '' : base.pathname;
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const clock = options.clock ?? realClock;
  const defaultMinValidity = options.defaultMinValiditySeconds ?? 60;
  const retryBudgetMs = options.retryBudgetMs ?? 10_000;
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    sha256: Sha256,
    credentials: options.credentials ?? fromNodeProviderChain(),
  });

  const cache = new Map<string, MarketoToken>();
  const inFlight = new Map<
    string,
    { readonly minValidity: number; readonly promise: Promise<MarketoToken> }
  >();
  const invalidations = new Map<string, Promise<MarketoToken>>();

  /** One signed request, retried on 503/429 within the budget. */
  const call = async (
    method: 'GET' | 'POST',
    path: string,
    query: Record<string, string>,
    body?: unknown,
  ) => {
    const started = clock.now();
    for (;;) {
      const url = new URL(`${base.origin}${basePath}${path}`);
      for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const signed = await signer.sign(
        new HttpRequest({
          method,
          protocol: url.protocol,
          hostname: url.hostname,
          ...(url.port ? { port: Number(url.port) } : {}),
          path: url.pathname,
          query,
          headers: {
            host: url.host,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(payload === undefined ? {} : { body: payload }),
        }),
        { signingDate: new Date(clock.now()) },
      );
      // fetch sets Host itself (from the URL, which is what was signed).
      const { host: _host, ...headers } = signed.headers;
      let response: Response;
      try {
        response = await doFetch(url, {
          method,
          headers,
          ...(payload === undefined ? {} : { body: payload }),
        });
      } catch (error) {
        throw new TokenVendorClientError('NetworkError', `token vendor unreachable: ${String(error)}`, {
          status: 0,
          cause: error,
        });
      }
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (response.ok) return parsed;
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      if (response.status === 503 || response.status === 429) {
        const waitMs = (retryAfter ?? 1) * 1000;
        if (clock.now() + waitMs - started <= retryBudgetMs) {
          await clock.sleep(waitMs);
          continue;
        }
      }
      throw errorFromResponse(response.status, response.headers, parsed, retryAfter);
    }
  };

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

  const fetchToken = (target: TokenTarget, minValidity: number): Promise<MarketoToken> => {
    const pending = inFlight.get(target.cacheKey);
    if (pending && pending.minValidity >= minValidity) return pending.promise;
    const promise = (async () => {
      const sentAt = clock.now();
      const body = await call('GET', target.path, { minValidity: String(minValidity) });
      const token = toToken(body, sentAt);
      cache.set(target.cacheKey, token);
      return token;
    })().finally(() => {
      if (inFlight.get(target.cacheKey)?.promise === promise) inFlight.delete(target.cacheKey);
    });
    inFlight.set(target.cacheKey, { minValidity, promise });
    return promise;
  };

  const getTargetToken = async (target: TokenTarget, opts: GetTokenOptions = {}): Promise<MarketoToken> => {
    const minValidity = opts.minValidity ?? defaultMinValidity;
    const cached = cache.get(target.cacheKey);
    if (fresh(cached, minValidity)) return cached;
    return fetchToken(target, minValidity);
  };

  /** Reports `accessToken` against the target (a client, or the pool holding it); concurrent reports share one request. */
  const invalidateTarget = async (target: TokenTarget, accessToken: string): Promise<MarketoToken> => {
    const key = `${target.cacheKey}\n${accessToken}`;
    const pending = invalidations.get(key);
    if (pending) return pending;
    // The dead token may also be cached as a pool's token.
    for (const [cacheKey, cached] of cache) if (cached.accessToken === accessToken) cache.delete(cacheKey);
    const promise = (async () => {
      const sentAt = clock.now();
      const body = await call('POST', target.invalidatePath, {}, { accessToken });
      const token = toToken(body, sentAt);
      cache.set(target.cacheKey, token);
      return token;
    })().finally(() => invalidations.delete(key));
    invalidations.set(key, promise);
    return promise;
  };

  /** Runs `fn` with the target's token; on a 601/602 invalidates it (against its member) and runs once more. */
  const withTargetToken = async <T>(
    target: TokenTarget,
    fn: (token: MarketoToken) => Promise<T>,
    opts: GetTokenOptions,
  ): Promise<T> => {
    const token = await getTargetToken(target, opts);
    try {
      const result = await fn(token);
      if (tokenRejectionCode(result) === undefined) return result;
    } catch (error) {
      if (tokenRejectionCode(error) === undefined) throw error;
    }
    return fn(await invalidateTarget(target, token.accessToken));
  };

  return {
    getToken: async (clientId, opts) => getTargetToken(clientTarget(clientId), opts),
    getInstanceToken: async (instance, opts) => getTargetToken(instanceTarget(instance), opts),
    invalidate: (clientId, accessToken) => invalidateTarget(clientTarget(clientId), accessToken),
    withToken: (clientId, fn, opts = {}) => withTargetToken(clientTarget(clientId), fn, opts),
    withInstanceToken: (instance, fn, opts = {}) => withTargetToken(instanceTarget(instance), fn, opts),
    async marketoFetch(clientId, url, init = {}) {
      const { minValidity, ...requestInit } = init;
      const target = new URL(url);
      if (target.searchParams.has('access_token')) {
        // Marketo is removing the query parameter; a token there would also end up in access logs.
        throw new TokenVendorClientError('InvalidRequest', 'do not put access_token in the URL', {
          status: 400,
        });
      }
      const attempt = (token: MarketoToken): Promise<Response> => {
        const headers = new Headers(requestInit.headers);
        headers.set('authorization', `Bearer ${token.accessToken}`);
        return doFetch(target, { ...requestInit, headers });
      };
      const token = await getTargetToken(
        clientTarget(clientId),
        minValidity === undefined ? {} : { minValidity },
      );
      const response = await attempt(token);
      if ((await responseRejectionCode(response)) === undefined) return response;
      // Marketo answers 601/602 with HTTP 200: replace the token and try once more (bodies must be replayable).
      await response.body?.cancel();
      return attempt(await invalidateTarget(clientTarget(clientId), token.accessToken));
    },
    clear(clientId) {
      if (clientId === undefined) cache.clear();
      else cache.delete(clientTarget(clientId).cacheKey);
    },
  };
}
