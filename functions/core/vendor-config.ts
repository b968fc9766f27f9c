import type { IdentityUrlPolicy } from './credentials.js';
import { DEFAULT_IDENTITY_HOSTS } from './credentials.js';

/** Tunables of the engine; every field has a default. */
export interface TokenVendorConfig {
  /** @default 20 */
  readonly defaultMinValiditySeconds: number;
  /** @default 25_000 (fits API Gateway's 29 s integration timeout) */
  readonly defaultMaxWaitMs: number;
  /** Longest a refresh lease is held before others may take over. @default 15_000 */
  readonly leaseDurationMs: number;
  /** Poll interval of callers waiting on someone else's lease (jittered ±50%). @default 100 */
  readonly leasePollMs: number;
  /** Timeout of one Identity call. @default 5_000 */
  readonly identityTimeoutMs: number;
  /**
   * Tokens with at most this many seconds left are treated as dead: never handed out, and an Identity answer
   * this short is "not yet rotated" (never cached). Covers ±2 s of clock skew between instances. @default 5
   */
  readonly rotationGuardSeconds: number;
  /** Extra wait after a token's expiry before asking Identity for its successor (covers skew). @default 2_500 */
  readonly expirySlackMs: number;
  /** How long DynamoDB keeps an item after its token expired (TTL clean-up). @default 86_400 */
  readonly itemRetentionSeconds: number;
  /** Where Identity may be reached (SSRF guard). @default { allowedHosts: ['*.mktorest.com'] } */
  readonly identityUrlPolicy: IdentityUrlPolicy;
  /** Lifespan of a new Marketo token, used to stagger pool members. @default 3600 */
  readonly tokenLifespanSeconds: number;
  /** How long a pool's membership (listed from the credentials source) is reused. @default 60_000 */
  readonly poolMembershipCacheMs: number;
}

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
