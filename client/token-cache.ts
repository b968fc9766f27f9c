/**
 * The client's memory of tokens and the vendor calls that fill it: one request per target at a time (single
 * flight: a caller wanting no more validity than the request in flight asks for shares it), and one report
 * per rejected token (concurrent invalidations of the same token share one request).
 */
import { TokenVendorClientError } from './errors.js';
import type { ClientClock, SignedCaller } from './signed-call.js';
import type { MarketoToken } from './token-client-api.js';
import type { Demand, TokenTarget } from './token-target.js';

/** Tokens by target, from memory or the vendor. */
export interface TokenCache {
  /** A token of `target` with `wanted.minValidity` seconds left: from memory, else from the vendor. */
  get(target: TokenTarget, wanted: Demand): Promise<MarketoToken>;
  /**
   * Reports `accessToken` against the target (a client, or the pool holding it) and returns the
   * replacement; concurrent reports share one request.
   */
  invalidate(target: TokenTarget, accessToken: string, wanted: Demand): Promise<MarketoToken>;
  /** Forgets cached tokens: all, or one target's. */
  clear(target?: TokenTarget): void;
}

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

/** Creates an empty cache that asks the vendor through `call`. */
export function createTokenCache(deps: {
  readonly call: SignedCaller;
  readonly clock: ClientClock;
}): TokenCache {
  const { call, clock } = deps;
  const cache = new Map<string, MarketoToken>();
  const inFlight = new Map<
    string,
    { readonly minValidity: number; readonly promise: Promise<MarketoToken> }
  >();
  const invalidations = new Map<string, Promise<MarketoToken>>();

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

  return {
    async get(target, wanted) {
      const cached = cache.get(target.cacheKey);
      if (fresh(cached, wanted.minValidity)) return cached;
      return fetchToken(target, wanted);
    },
    async invalidate(target, accessToken, wanted) {
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
    },
    clear(target) {
      if (target === undefined) cache.clear();
      else cache.delete(target.cacheKey);
    },
  };
}
