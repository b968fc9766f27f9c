/**
 * The public API of the token client: what `createTokenClient` takes and returns. The machinery behind it:
 * token-cache.ts (cache, single flight, invalidation), marketo-calls.ts (permits, 601/602 retries,
 * `marketoFetch`), token-target.ts (clients and pools as fetch targets), permits.ts (the API budget).
 */
import type { BulkExportOptions, BulkExportResult } from './bulk-export.js';
import type { BulkSlotLease, BulkSlotOptions } from './bulk-slots.js';
import type { BudgetOptions, BudgetStats } from './permits.js';
import type { AwsCredentialsInput, ClientClock } from './signed-call.js';

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
  /**
   * Runs a whole Bulk Extract under a slot of the instance's queue: slot, create, enqueue, poll with backoff
   * (the slot renewed), the slot given back with the file's size, download. Each Marketo call is a
   * `marketoFetch`. Throws `DailyExportQuotaExhausted` (with `resetsAt`) when the day's export quota is used
   * up, `BulkSlotUnavailable` when no place frees within `maxSlotWaitMs`, `MarketoApiError` when the job fails.
   */
  bulkExport<T = string>(clientId: string, options: BulkExportOptions<T>): Promise<BulkExportResult<T>>;
  /**
   * A place in the instance's Bulk Extract or Import queue for a job you run yourself: call `renewIfDue()`
   * while it runs and `release(bytes)` when it ended. Waits while every place is held.
   */
  acquireBulkSlot(clientId: string, options: BulkSlotOptions): Promise<BulkSlotLease>;
  /** What the shared API budget did for this client: permits, waits, 606/615/607 seen. */
  budgetStats(): Readonly<BudgetStats>;
  /** Forgets cached tokens (all, or one client's). */
  clear(clientId?: string): void;
  /**
   * Releases what the client holds: a permit whose release still lingers (it waits 25 ms to ride on the
   * next permit request) is released now and every release on its way is awaited, so a finished job holds
   * no concurrency slot of the instance's budget. Call it when a job (or a Lambda invocation) ends; the
   * client stays usable, and the next `close()` releases what later calls left lingering.
   */
  close(): Promise<void>;
}
