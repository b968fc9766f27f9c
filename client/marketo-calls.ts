/**
 * Marketo calls made with a vended token: each under a permit of the instance's shared API budget, and
 * once more with the replacement when Marketo rejects the token (601/602). A 603 (the role lacks a
 * permission) becomes `MarketoAccessDenied`: never retried, the token kept. `withToken` runs the caller's
 * function; `marketoFetch` is `fetch` with the token as a bearer header.
 */
import { failOnAccessDenied, rejectAccessDenied } from './access-denied.js';
import { TokenVendorClientError } from './errors.js';
import { responseRejectionCode, tokenRejectionCode } from './marketo.js';
import { type MarketoLimitCode, marketoLimitCode, type Permits, responseLimitCode } from './permits.js';
import type { TokenCache } from './token-cache.js';
import type { GetTokenOptions, MarketoToken } from './token-client-api.js';
import { clientTarget, type Demand, type TokenTarget } from './token-target.js';

/** Marketo calls of one token client. */
export interface MarketoCalls {
  /** Runs `fn` with the target's token; on a 601/602 invalidates it (against its member) and runs once more. */
  withTargetToken<T>(
    target: TokenTarget,
    fn: (token: MarketoToken) => Promise<T>,
    opts: GetTokenOptions,
  ): Promise<T>;
  /** `fetch` for Marketo REST with a client's token (see `TokenClient.marketoFetch`). */
  marketoFetch(clientId: string, url: string | URL, init: RequestInit & GetTokenOptions): Promise<Response>;
}

export function createMarketoCalls(deps: {
  readonly permits: Permits;
  readonly tokens: TokenCache;
  /** The demand of a per-request call (`requestMinValiditySeconds` unless the call names one). */
  readonly demand: (opts: GetTokenOptions) => Demand;
  readonly fetch: typeof fetch;
}): MarketoCalls {
  const { permits, tokens, demand } = deps;

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
            ? await tokens.get(target, wanted)
            : await tokens.invalidate(target, (replacing as MarketoToken).accessToken, wanted);
          reported = true;
          used = token;
          return token;
        },
        call,
        limitOf,
      )
      .then((result) => ({ result, token: used as MarketoToken }));
  };

  return {
    async withTargetToken(target, callerFn, opts) {
      const fn = failOnAccessDenied(callerFn);
      const wanted = demand(opts);
      const limitOf = async ({ value, error }: { readonly value?: unknown; readonly error?: unknown }) =>
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
    },

    async marketoFetch(clientId, url, init) {
      const { minValidity, retryBudgetMs, ...requestInit } = init;
      const target = new URL(url);
      if (target.searchParams.has('access_token')) {
        // Marketo is removing the query parameter; a token there would also end up in access logs.
        throw new TokenVendorClientError('InvalidRequest', 'do not put access_token in the URL', {
          status: 400,
        });
      }
      const vendor = clientTarget(clientId);
      const send = (token: MarketoToken): Promise<Response> => {
        const headers = new Headers(requestInit.headers);
        headers.set('authorization', `Bearer ${token.accessToken}`);
        // A 603 is the role's, not the token's: thrown as MarketoAccessDenied, never retried or invalidated.
        return deps.fetch(target, { ...requestInit, headers }).then((response) =>
          rejectAccessDenied(response, token.clientId, {
            method: requestInit.method ?? 'GET',
            path: target.pathname,
          }),
        );
      };
      const limitOf = async ({ value }: { readonly value?: Response }) =>
        value === undefined ? undefined : responseLimitCode(value);
      const wanted = demand({
        ...(minValidity === undefined ? {} : { minValidity }),
        ...(retryBudgetMs === undefined ? {} : { retryBudgetMs }),
      });
      const first = await callUnderPermit(vendor, wanted, send, limitOf);
      if ((await responseRejectionCode(first.result)) === undefined) return first.result;
      // Marketo answers 601/602 with HTTP 200: replace the token and try once more (bodies must be replayable).
      await first.result.body?.cancel();
      return (await callUnderPermit(vendor, wanted, send, limitOf, first.token)).result;
    },
  };
}
