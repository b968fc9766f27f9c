import { randomUUID } from 'node:crypto';
import { systemClock } from './clock.js';
import type {
  Clock,
  CredentialsSource,
  IdentityClient,
  Logger,
  MetricsSink,
  StoredToken,
  TokenStore,
} from './ports.js';
import type { TokenVendorDeps } from './token-vendor-api.js';
import { DEFAULT_TOKEN_VENDOR_CONFIG, type TokenVendorConfig } from './vendor-config.js';

/**
 * What one vendor instance holds: its ports, its configuration and its memory of tokens. State only, no
 * behaviour (as Powertools idempotency keeps `IdempotencyRecord` apart from the handler that decides): built
 * once per `createTokenVendor` call, and the parts (client vends, pools, sweep) are functions of it.
 */
export interface VendorState {
  readonly config: TokenVendorConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsSink;
  /** Source of randomness for jitter, in [0, 1). */
  readonly random: () => number;
  /** This instance's name as a lease owner. */
  readonly instanceId: string;
  readonly store: TokenStore;
  readonly credentials: CredentialsSource;
  readonly identity: IdentityClient;
  /** The last token this instance saw per client id (a vend from here needs no store read). */
  readonly tokensInMemory: Map<string, StoredToken>;
  /**
   * Per client whose refresh here is waiting out a token Identity still hands out at its expiry instant:
   * when it asks again (epoch ms). A caller whose budget ends meanwhile is told TokenRotating, not that
   * Identity is unavailable.
   */
  readonly rotationRetryAt: Map<string, number>;
  /** Longest one single flight may run: a caller's default budget, or two leases (one may lapse). */
  readonly refreshBudgetMs: number;
}

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const noMetrics: MetricsSink = { record() {} };

/** A vendor instance's state from its ports (absent ones defaulted) and configuration overrides. */
export function createVendorState(deps: TokenVendorDeps, overrides: Partial<TokenVendorConfig>): VendorState {
  const config: TokenVendorConfig = { ...DEFAULT_TOKEN_VENDOR_CONFIG, ...overrides };
  return {
    config,
    clock: deps.clock ?? systemClock,
    logger: deps.logger ?? silentLogger,
    metrics: deps.metrics ?? noMetrics,
    random: deps.random ?? Math.random,
    instanceId: deps.instanceId ?? randomUUID(),
    store: deps.store,
    credentials: deps.credentials,
    identity: deps.identity,
    tokensInMemory: new Map(),
    rotationRetryAt: new Map(),
    refreshBudgetMs: Math.max(config.defaultMaxWaitMs, config.leaseDurationMs * 2),
  };
}
