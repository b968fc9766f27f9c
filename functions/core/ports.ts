/**
 * The ports the token engine talks to. The core imports no AWS SDK: adapters for DynamoDB,
 * Secrets Manager, Marketo over HTTP and local files live beside it and implement these.
 */

/** A Marketo access token as the vendor keeps it. Times are epoch milliseconds. */
export interface StoredToken {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly scope?: string;
  /** Conservative expiry: the instant the Identity request was sent plus `expires_in`. */
  readonly expiresAt: number;
  /** When Identity last handed this token out. */
  readonly obtainedAt: number;
  /**
   * When the request that brought this answer was sent: `expiresAt` is reckoned from it (conservative), and
   * Identity read its clock between it and `obtainedAt`. Absent on items written by older versions.
   */
  readonly requestedAt?: number;
  /**
   * When Identity last handed out this same token again in answer to an invalidation's re-check: until
   * `invalidationCooldownMs` after it, further reports of this token are answered from the store.
   */
  readonly reconfirmedAt?: number;
}

/** The refresh lease: whoever holds it is the only one allowed to call Identity for the client. */
export interface Lease {
  readonly owner: string;
  /** Epoch ms after which the lease has lapsed and may be taken over. */
  readonly leaseUntil: number;
}

/** Why the last refresh failed; kept for operators, never contains a secret. */
export interface LastError {
  readonly code: string;
  readonly message: string;
  readonly at: number;
}

/** One client's item in the token store. */
export interface TokenRecord {
  readonly clientId: string;
  /** Incremented by every write; lease acquisition is a compare-and-swap on it. */
  readonly version: number;
  readonly token?: StoredToken;
  readonly lease?: Lease;
  readonly lastError?: LastError;
  /** The Marketo instance (pool) the client belonged to when its token was last stored. */
  readonly instance?: string;
  /** When the refresher should next act for this client (epoch ms); absent: not in the refresh index. */
  readonly refreshAt?: number;
}

/** What a successful refresh stores besides the token. */
export interface RefreshedOutcome {
  readonly token: StoredToken;
  /** When the token's successor is due: the refresh index's key (absent: left out of the index). */
  readonly refreshAt?: number;
  /** The client's instance, so the refresher can find its pool. */
  readonly instance?: string;
}

/** Shared, strongly consistent store of tokens and refresh leases (DynamoDB in AWS). */
export interface TokenStore {
  /**
   * The client's item; `undefined` when it has none yet. Strongly consistent unless `consistent: false`:
   * an eventually consistent read costs half (DynamoDB) and may miss the last second's writes, so the
   * engine uses it only to see whether anything changed, and confirms with a consistent read before acting.
   */
  get(clientId: string, options?: { readonly consistent?: boolean }): Promise<TokenRecord | undefined>;
  /**
   * Takes the refresh lease if the item is still at `expectedVersion` (`undefined`: the item must not
   * exist). Returns the updated record, or `undefined` when someone else wrote first.
   */
  acquireLease(
    clientId: string,
    expectedVersion: number | undefined,
    lease: Lease,
    expireItemAtSeconds: number,
  ): Promise<TokenRecord | undefined>;
  /**
   * Stores the outcome of a refresh and releases the lease, only while `owner` still holds it.
   * A success replaces the token and clears `lastError`; a failure keeps the token and sets
   * `lastError`; an interruption (the process stops) changes neither and lets the lease lapse now, so
   * another instance takes over at once. Returns false when the lease was lost (taken over) and nothing
   * was written.
   */
  completeLease(
    clientId: string,
    owner: string,
    outcome: LeaseOutcome,
    expireItemAtSeconds: number,
  ): Promise<boolean>;
  /**
   * Moves the client's entry in the refresh index to `refreshAt` (a pool member whose fetch is deferred), or
   * takes it out (`undefined`: the client is no longer registered). Creates a bare item if there is none.
   */
  scheduleRefresh(
    clientId: string,
    refreshAt: number | undefined,
    expireItemAtSeconds: number,
  ): Promise<void>;
  /** Removes the client's item (operator `clients remove`). */
  delete(clientId: string): Promise<void>;
  /** Every item, for operators (`clients list`); not used on the vend path. */
  list(): AsyncIterable<TokenRecord>;
}

/** How a lease holder's refresh ended: a token, a failure, or interrupted by the process stopping. */
export type LeaseOutcome = RefreshedOutcome | { readonly error: LastError } | { readonly interrupted: true };

/** A client's entry in the refresh index. */
export interface DueRefresh {
  readonly clientId: string;
  /** When its successor is due (epoch ms). */
  readonly refreshAt: number;
  readonly instance?: string;
}

/** How far the refresher's scheduled runs have queued refreshes, and when they last listed every client. */
export interface RefreshPlanState {
  /** Refreshes due before this instant (epoch ms) are queued. */
  readonly plannedUntil: number;
  /** When a run last listed every registered client (epoch ms). */
  readonly reconciledAt: number;
  /** Incremented by every run that moves the plan on; a run moves it on only from the version it read. */
  readonly version: number;
}

/**
 * The refresh index (DynamoDB: a global secondary index of the token table, eventually consistent) and the
 * planner's state (one item of the table), read and written only by the refresher's scheduled runs.
 */
export interface RefreshIndex {
  /** Entries with `from <= refreshAt < until`, soonest first. */
  due(range: { readonly from?: number; readonly until: number }): AsyncIterable<DueRefresh>;
  /** The plan state, strongly consistent; `undefined` before the first run. */
  readPlan(): Promise<RefreshPlanState | undefined>;
  /** Writes `next` only if the state is still `expected` (version compare-and-swap); false when another run won. */
  advancePlan(expected: RefreshPlanState | undefined, next: RefreshPlanState): Promise<boolean>;
}

/** One message of refreshes, to become visible at `visibleAt` (epoch ms; SQS delays are whole seconds). */
export interface RefreshMessage {
  readonly visibleAt: number;
  readonly clients: readonly RegisteredClient[];
}

/** The refresh queue (SQS): messages delivered to refresh workers once visible. */
export interface RefreshQueue {
  /** Sends every message or fails. */
  send(messages: readonly RefreshMessage[]): Promise<void>;
}

/** A Marketo Custom Service's credentials, as registered by an operator. */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  /** e.g. `https://123-ABC-456.mktorest.com/identity` */
  readonly identityUrl: string;
  readonly restUrl?: string;
  /** Marketo instance (Munchkin id or label); clients sharing it form a pool. */
  readonly instance?: string;
  /**
   * When these credentials last changed (epoch ms), where the source knows: the secret version's creation in
   * Secrets Manager, the credentials file's modification locally.
   */
  readonly changedAt?: number;
}

/** A registered client as listed for the refresher and operators: never carries the secret. */
export interface RegisteredClient {
  readonly clientId: string;
  readonly instance?: string;
  /** When its credentials last changed (epoch ms), where the source knows it (Secrets Manager does). */
  readonly changedAt?: number;
}

/** Where client credentials come from (Secrets Manager in AWS, a JSON file locally). */
export interface CredentialsSource {
  /**
   * Reads one client's credentials. `bypassCache` forces a fresh read (after Identity rejected them,
   * in case the secret was rotated). Throws `UnknownClientError` or `CredentialsMisconfiguredError`.
   */
  get(clientId: string, options?: { readonly bypassCache?: boolean }): Promise<ClientCredentials>;
  /** All registered clients (paginated underneath). */
  list(): Promise<RegisteredClient[]>;
  /** The registered clients of one instance (a pool), without listing every client. @default list() filtered */
  listInstance?(instance: string): Promise<RegisteredClient[]>;
}

/** A token as Marketo Identity returned it. */
export interface IdentityToken {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly scope?: string;
  /** Remaining lifespan in seconds as Identity reported it. */
  readonly expiresInSeconds: number;
}

/**
 * Marketo's Identity service. Throws `CredentialsRejectedError` on 401 / invalid_client,
 * `IdentityUnavailableError` on network errors, timeouts, 5xx and rate limits (retryable), and
 * `IdentityBadResponseError` when the answer is not a token.
 */
export interface IdentityClient {
  fetchToken(
    credentials: ClientCredentials,
    options: { readonly timeoutMs: number; readonly signal?: AbortSignal },
  ): Promise<IdentityToken>;
}

/** Time, injectable so tests can drive the engine with a fake clock. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms`; rejects if `signal` aborts first (so abandoned waits leave no timers behind). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The subset of Powertools Logger the core uses. Attributes must never hold secrets or full tokens. */
export interface Logger {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

/** Names of the metrics the core emits (documented in docs/operations.md). */
export type MetricName =
  | 'VendFromMemory'
  | 'VendFromStore'
  | 'VendFromIdentity'
  | 'IdentityCalls'
  | 'IdentityErrors'
  | 'IdentityLatencyMs'
  | 'CredentialsRejected'
  | 'ClientCredentialsRejected'
  | 'TokenRotating'
  | 'LeaseWaits'
  | 'LeaseTakeovers'
  | 'StoreErrors'
  | 'StoreThrottled'
  | 'TokenRemainingSeconds'
  | 'Invalidations'
  | 'InvalidationsSuppressed'
  | 'RefreshFetched'
  | 'RefreshWaited'
  | 'RefreshFailed'
  | 'RefreshQueued'
  | 'RefreshOverdue'
  | 'PoolMemberFailed'
  | 'PoolGuaranteedRemainingSeconds';

/** A dimension beside the service's: which client a per-client metric is about. */
export interface MetricDimensions {
  readonly clientId: string;
}

/** Where the core reports counters and timings (Powertools Metrics in Lambda). */
export interface MetricsSink {
  record(
    name: MetricName,
    value: number,
    unit: 'Count' | 'Milliseconds' | 'Seconds',
    dimensions?: MetricDimensions,
  ): void;
}
