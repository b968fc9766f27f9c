/** The engine's public interface: what callers pass in, what they get back. Types only. */
import type {
  Clock,
  CredentialsSource,
  IdentityClient,
  Logger,
  MetricsSink,
  RegisteredClient,
  TokenStore,
} from './ports.js';

/** Per-request options. */
export interface VendOptions {
  /** Seconds the returned token must still be valid for. @default config.defaultMinValiditySeconds */
  readonly minValiditySeconds?: number;
  /** How long this caller may wait (lease holder, expiry wait-out, retries). @default config.defaultMaxWaitMs */
  readonly maxWaitMs?: number;
}

/** Where a vended token came from. */
export type TokenSource = 'memory' | 'store' | 'identity';

/** A token handed to a consumer. */
export interface VendedToken {
  readonly clientId: string;
  readonly accessToken: string;
  readonly tokenType: string;
  readonly scope?: string;
  /** Epoch milliseconds (conservative). */
  readonly expiresAt: number;
  /** Whole seconds left, rounded down. */
  readonly expiresInSeconds: number;
  readonly source: TokenSource;
}

/** The ports a vendor instance talks to. */
export interface TokenVendorDeps {
  readonly store: TokenStore;
  readonly credentials: CredentialsSource;
  readonly identity: IdentityClient;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly metrics?: MetricsSink;
  /** Identifies this instance as a lease owner. @default a random id */
  readonly instanceId?: string;
  /** Source of randomness for jitter. @default Math.random */
  readonly random?: () => number;
}

/** Options of one refresher sweep. */
export interface RefreshOptions {
  /** Tokens expiring within this window are waited out and replaced in this sweep. @default 60_000 */
  readonly horizonMs?: number;
  /** Identity fetches in flight at once. @default 8 */
  readonly concurrency?: number;
  /** Sweep only these clients (one fan-out batch). @default every client the credentials source lists */
  readonly clients?: readonly RegisteredClient[];
}

/** Options of a refresher worker's sweep of one queued message. */
export interface RefreshDueOptions {
  /** The message's clients (a pool member brings its pool's other members along). */
  readonly clients: readonly RegisteredClient[];
  /** Tokens expiring within this window are waited out and replaced; later ones are left alone. */
  readonly horizonMs: number;
  /** Identity fetches in flight at once. @default 8 */
  readonly concurrency?: number;
}

/** Outcome of one refresher sweep. */
export interface RefreshSummary {
  readonly clients: number;
  /** Tokens fetched because they were missing or already expired. */
  readonly fetched: number;
  /** Tokens whose expiry fell before the horizon: waited out, then fetched. */
  readonly waited: number;
  /** Tokens still valid past the horizon: nothing to do. */
  readonly valid: number;
  /** Pool members whose first fetch is delayed past the horizon to keep expiries staggered. */
  readonly deferred: number;
  readonly failed: number;
  readonly failures: ReadonlyArray<{ readonly clientId: string; readonly code: string }>;
  /** Per instance pool: members and the least remaining life its freshest token will have. */
  readonly pools: ReadonlyArray<PoolStatus>;
}

/** A pool's state after a sweep. */
export interface PoolStatus {
  readonly instance: string;
  readonly members: number;
  /** Members holding a live token. */
  readonly liveMembers: number;
  /** Lifespan minus the largest gap between members' expiries: what `minValidity` the pool can always serve. */
  readonly guaranteedMinRemainingSeconds: number;
}

/** The token engine. Many independent instances may share one store (one per Lambda). */
export interface TokenVendor {
  /** A token with at least `minValiditySeconds` left, from memory, the store or (once per expiry) Identity. */
  getToken(clientId: string, options?: VendOptions): Promise<VendedToken>;
  /**
   * A consumer saw `rejectedAccessToken` fail with 601/602. Compare-and-swap: only if it is still the
   * current token is it replaced; returns the token consumers should use now.
   */
  invalidate(clientId: string, rejectedAccessToken: string, options?: VendOptions): Promise<VendedToken>;
  /**
   * A token of the instance pool member with the most remaining life that meets `minValiditySeconds`.
   * The result names the member's `clientId` (report 601/602 against that client).
   */
  getInstanceToken(instance: string, options?: VendOptions): Promise<VendedToken>;
  /**
   * A consumer of the pool saw `rejectedAccessToken` fail with 601/602: invalidates it against the member
   * that holds it (compare-and-swap, as `invalidate`) and returns the pool's best token now.
   */
  invalidateInstance(
    instance: string,
    rejectedAccessToken: string,
    options?: VendOptions,
  ): Promise<VendedToken>;
  /**
   * Refresher sweep: fetches missing tokens and, for tokens expiring within `horizonMs`, waits for the
   * expiry instant and fetches the successor. One failing client never stops the others.
   */
  refreshAll(options?: RefreshOptions): Promise<RefreshSummary>;
  /**
   * Refresher worker: sweeps one queued message's clients (and their pools' other members, for the
   * stagger) with a short horizon, so a message delivered just before its refreshes are due waits seconds,
   * never minutes.
   */
  refreshDue(options: RefreshDueOptions): Promise<RefreshSummary>;
}
