import {
  DEFAULT_IDENTITY_HOSTS,
  DEFAULT_IDENTITY_TIMEOUT_MS,
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_MIN_VALIDITY_SECONDS,
  EXPIRY_SLACK_MS,
  ITEM_RETENTION_SECONDS,
  POOL_MEMBERSHIP_CACHE_MS,
  REJECTED_CREDENTIALS_COOLDOWN_MS,
  ROTATION_GUARD_SECONDS,
  TOKEN_LIFESPAN_SECONDS,
} from '../contract/index.js';
import type { IdentityUrlPolicy } from './identity-url-policy.js';

/** Tunables of the engine; every field has a default. */
export interface TokenVendorConfig {
  /** @default 20 */
  readonly defaultMinValiditySeconds: number;
  /** @default 24_000 (with the last Identity call, fits API Gateway's 29 s integration timeout) */
  readonly defaultMaxWaitMs: number;
  /** Longest a refresh lease is held before others may take over. @default 15_000 */
  readonly leaseDurationMs: number;
  /**
   * First poll interval of callers waiting on someone else's lease; each poll doubles it up to
   * `leasePollMaxMs` (jittered ±50%), so thousands of waiters on one key stay under its read limit. @default 100
   */
  readonly leasePollMs: number;
  /** Longest poll interval of a caller waiting on someone else's lease. @default 1_600 */
  readonly leasePollMaxMs: number;
  /**
   * Callers waiting for a rotation wake at random over this window after the successor should be stored,
   * so thousands of them do not read the token's item in the same millisecond. @default 500
   */
  readonly rotationSpreadMs: number;
  /** Timeout of one Identity call. @default 5_000 */
  readonly identityTimeoutMs: number;
  /**
   * Tokens with at most this many seconds left are treated as dead: never handed out, and an Identity answer
   * this short is "not yet rotated" (never cached). Covers ±2 s of clock skew between instances. @default 5
   */
  readonly rotationGuardSeconds: number;
  /**
   * Wait after a token's (conservative) expiry before asking Identity for its successor: covers the time
   * between our request and Identity's clock reading. Clock skew is handled by re-asking once a
   * not-yet-rotated answer's own `expires_in` has run out, at the cost of one extra call. @default 250
   */
  readonly expirySlackMs: number;
  /** How long DynamoDB keeps an item after its token expired (TTL clean-up). @default 86_400 */
  readonly itemRetentionSeconds: number;
  /** Where Identity may be reached (SSRF guard). @default { allowedHosts: ['*.mktorest.com'] } */
  readonly identityUrlPolicy: IdentityUrlPolicy;
  /** Lifespan of a new Marketo token, used to stagger pool members. @default 3600 */
  readonly tokenLifespanSeconds: number;
  /** How long a pool's membership (tag and secret agreeing) is reused. @default 5_000 */
  readonly poolMembershipCacheMs: number;
  /**
   * How long the refresher leaves a client alone after Identity rejected its credentials, unless its secret
   * changed since (functions/core/credentials-backoff.ts). @default 900_000
   */
  readonly rejectedCredentialsCooldownMs: number;
  /**
   * After Identity reconfirmed a reported token (it is still valid there), how long further reports of that
   * token are answered from the store instead of asking Identity again. Bounds the Identity calls any
   * stream of invalidations can cause to one per client per token per cooldown. @default 60_000
   */
  readonly invalidationCooldownMs: number;
}

export const DEFAULT_TOKEN_VENDOR_CONFIG: TokenVendorConfig = {
  defaultMinValiditySeconds: DEFAULT_MIN_VALIDITY_SECONDS,
  defaultMaxWaitMs: DEFAULT_MAX_WAIT_MS,
  leaseDurationMs: DEFAULT_LEASE_DURATION_MS,
  leasePollMs: 100,
  leasePollMaxMs: 1_600,
  rotationSpreadMs: 500,
  identityTimeoutMs: DEFAULT_IDENTITY_TIMEOUT_MS,
  // Both cover clock skew of ±2 s between Lambdas (test/reliability/process-faults.test.ts).
  rotationGuardSeconds: ROTATION_GUARD_SECONDS,
  expirySlackMs: EXPIRY_SLACK_MS,
  itemRetentionSeconds: ITEM_RETENTION_SECONDS,
  identityUrlPolicy: { allowedHosts: DEFAULT_IDENTITY_HOSTS },
  tokenLifespanSeconds: TOKEN_LIFESPAN_SECONDS,
  poolMembershipCacheMs: POOL_MEMBERSHIP_CACHE_MS,
  rejectedCredentialsCooldownMs: REJECTED_CREDENTIALS_COOLDOWN_MS,
  invalidationCooldownMs: 60_000,
};
