/**
 * Vended tokens for an existing `node-marketo-rest` (npm, 0.7.x) client. That library fetches its own token
 * from Identity with a client id and secret (`Connection.prototype.getOAuthToken(force)` in
 * lib/connection.js) and retries each request itself (lib/retry.js: `forceOAuth` after a 601/602). After
 * {@link useVendedTokens} the instance
 *
 * - takes every token from the vendor through a {@link TokenClient}, never Identity, and needs no secret;
 * - runs each HTTP attempt through `withToken`: a permit of the instance's shared API budget first (when the
 *   client's budget is on), then the token; a 601/602 is recovered from at once (invalidate, one more try),
 *   606/615 are backed off and reported, 607 throws `DailyQuotaExhausted`, 603 throws `MarketoAccessDenied`
 *   naming the call's method, path and permission (the adapter notes each call's line as the library starts it);
 * - turns a forced refresh (its retry after a 601/602, or `marketo.getOAuthToken()`) into an invalidate of
 *   the token it last used.
 *
 * Anything else (paging, streams, the library's own retries of network and 5xx errors) stays the library's.
 */
import { isAccessDenied, MarketoAccessDenied, type MarketoRequestLine } from './access-denied.js';
import { TokenVendorClientError } from './errors.js';
import type { GetTokenOptions, MarketoToken, TokenClient } from './token-client-api.js';

/** What the adapter uses of a node-marketo-rest `Connection` (lib/connection.js, 0.7.x). */
export interface NodeMarketoRestConnection {
  getOAuthToken(force?: boolean): PromiseLike<unknown>;
  /** lib/connection.js: every REST call, `(method, url, …)` with `url` absolute or under `endpoint`. */
  _request?: (method: string, url: string, ...rest: unknown[]) => PromiseLike<unknown>;
  /** lib/retry.js: runs `fetchFn(forceOAuth)` until it succeeds or fails for good. */
  _retry: {
    start(fetchFn: (forceOAuth: boolean) => PromiseLike<unknown>, context?: unknown): PromiseLike<unknown>;
  };
  readonly _options?: { readonly clientSecret?: unknown; readonly endpoint?: unknown };
}

/** A node-marketo-rest `Marketo` instance (`new Marketo({ endpoint, … })`). */
export interface NodeMarketoRestClient {
  readonly _connection: NodeMarketoRestConnection;
}

/** Options of {@link useVendedTokens}. */
export interface VendedNodeMarketoRestOptions extends GetTokenOptions {
  /** The client of the token vendor the tokens come from. */
  readonly tokens: TokenClient;
  /** The Custom Service whose tokens the instance uses. */
  readonly clientId: string;
}

/** The shape of Identity's answer, which node-marketo-rest reads `access_token` from. */
interface IdentityShapedToken {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope?: string;
}

const identityShaped = (token: MarketoToken): IdentityShapedToken => ({
  access_token: token.accessToken,
  token_type: token.tokenType,
  expires_in: Math.max(0, Math.floor((token.expiresAt - Date.now()) / 1000)),
  ...(token.scope === undefined ? {} : { scope: token.scope }),
});

/** Method and path of a library call (never its query string, which may hold personal data). */
const requestLineOf = (method: string, url: string, endpoint: unknown): MarketoRequestLine | undefined => {
  try {
    const full = /^https?:\/\//i.test(url) ? url : `${String(endpoint ?? '')}${url}`;
    return { method: method.toUpperCase(), path: new URL(full).pathname };
  } catch {
    return undefined;
  }
};

/** A Marketo error as node-marketo-rest rejects with it (`HttpError` with Marketo's `errors`). */
const marketoErrors = (error: unknown): unknown[] | undefined => {
  const errors = (error as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) ? errors : undefined;
};

/**
 * Makes a node-marketo-rest instance take its tokens from the vendor (see the module comment) and returns
 * it. Create the instance without `clientId`/`clientSecret`/`identity`:
 *
 *   const marketo = useVendedTokens(new Marketo({ endpoint: 'https://123-ABC-456.mktorest.com/rest' }), {
 *     tokens: createTokenClient({ endpoint, region }),
 *     clientId: 'my-sync',
 *   });
 *   const leads = await marketo.lead.find('email', ['a@example.com']);
 */
export function useVendedTokens<M extends NodeMarketoRestClient>(
  marketo: M,
  options: VendedNodeMarketoRestOptions,
): M {
  const { tokens, clientId, ...tokenOptions } = options;
  const connection = marketo._connection;
  if (connection._options?.clientSecret !== undefined) {
    throw new TokenVendorClientError(
      'InvalidRequest',
      'useVendedTokens: create the node-marketo-rest client without clientSecret; the token vendor holds it',
      { status: 400 },
    );
  }
  /** The token the current attempt was given, picked up by the library's getOAuthToken as it starts. */
  let handOff: MarketoToken | undefined;
  /** The token this instance used last: a forced refresh reports it. */
  let lastUsed: MarketoToken | undefined;

  connection.getOAuthToken = (force = false) => {
    const handed = handOff;
    handOff = undefined;
    if (handed) return Promise.resolve(identityShaped(handed));
    // Called outside an attempt (`marketo.getOAuthToken()` forces): a forced refresh is an invalidate.
    const next =
      force && lastUsed
        ? tokens.invalidate(clientId, lastUsed.accessToken)
        : tokens.getToken(clientId, tokenOptions);
    return next.then((token) => {
      lastUsed = token;
      return identityShaped(token);
    });
  };

  const attempt = async (
    send: (forceOAuth: boolean) => PromiseLike<unknown>,
    forceOAuth: boolean,
    request: MarketoRequestLine | undefined,
  ): Promise<unknown> => {
    // The library retries a 601/602 that got past withToken with forceOAuth set: report the token again.
    if (forceOAuth && lastUsed) await tokens.invalidate(clientId, lastUsed.accessToken);
    const outcome = await tokens.withToken(
      clientId,
      async (token) => {
        lastUsed = token;
        // The library's attempt asks getOAuthToken first, synchronously: it picks this token up.
        handOff = token;
        let sent: PromiseLike<unknown>;
        try {
          sent = send(forceOAuth);
        } finally {
          handOff = undefined;
        }
        try {
          return { value: await sent };
        } catch (error) {
          const errors = marketoErrors(error);
          if (errors === undefined) throw error;
          // The role's refusal, named with the call's permission (withToken alone does not know the call).
          if (isAccessDenied({ success: false, errors }))
            throw new MarketoAccessDenied(token.clientId, request);
          // A Marketo body for withToken to read (601/602, 606/615/607); the library's error is thrown after.
          return { success: false, errors, failure: error };
        }
      },
      tokenOptions,
    );
    if ('failure' in outcome) throw outcome.failure;
    return outcome.value;
  };

  // The library's _request starts its retry synchronously: the call's method and path are known right then.
  let calling: MarketoRequestLine | undefined;
  const request = connection._request;
  if (request) {
    connection._request = function (this: unknown, method, url, ...rest) {
      calling = requestLineOf(method, url, connection._options?.endpoint);
      try {
        return request.call(this, method, url, ...rest);
      } finally {
        calling = undefined;
      }
    };
  }
  const retry = connection._retry;
  const start = retry.start.bind(retry);
  retry.start = (fetchFn, context) => {
    const line = calling;
    return start((forceOAuth) => attempt((force) => fetchFn.call(context, force), forceOAuth, line), context);
  };
  return marketo;
}
