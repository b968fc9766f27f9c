import { randomUUID } from 'node:crypto';
import { systemClock } from './clock.js';
import { assertIdentityUrlAllowed } from './credentials.js';
import { StoreUnavailableError } from './errors.js';
import type {
  ClientCredentials,
  Clock,
  CredentialsSource,
  IdentityClient,
  Logger,
  MetricsSink,
  StoredToken,
  TokenRecord,
  TokenStore,
} from './ports.js';
import type { TokenVendorDeps } from './token-vendor-api.js';
import { DEFAULT_TOKEN_VENDOR_CONFIG, type TokenVendorConfig } from './vendor-config.js';

/**
 * What every part of one vendor instance shares: its ports, its configuration and its memory of tokens.
 * Built once per `createTokenVendor` call; the parts (client vends, pools, sweep) are functions of it.
 */
export interface Engine {
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
  /** Longest one shared refresh may run: a caller's default budget, or two leases (one may lapse). */
  readonly refreshBudgetMs: number;
}

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const noMetrics: MetricsSink = { record() {} };

export function createEngine(deps: TokenVendorDeps, overrides: Partial<TokenVendorConfig>): Engine {
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

/** `ms` scaled by a random factor in [0.5, 1.5), so that instances waiting together spread out. */
export const jitter = (engine: Engine, ms: number): number => Math.round(ms * (0.5 + engine.random()));

/** DynamoDB TTL of a client's item: a retention period after its token's expiry (or now). */
export const itemExpiryEpochSeconds = (engine: Engine, token?: StoredToken): number =>
  Math.ceil(Math.max(token?.expiresAt ?? 0, engine.clock.now()) / 1000) + engine.config.itemRetentionSeconds;

/** Counts and logs a store failure and returns the typed error to throw (naming the error class only). */
export function storeFailure(engine: Engine, error: unknown, clientId: string): StoreUnavailableError {
  engine.metrics.record('StoreErrors', 1, 'Count');
  const reason = error instanceof Error ? error.name : 'unknown error';
  engine.logger.warn('token store unavailable', { clientId, reason });
  return new StoreUnavailableError(`token store unavailable (${reason})`, {
    cause: error,
    retryAfterSeconds: 1,
  });
}

/** The client's item, or `StoreUnavailableError`. */
export async function readRecord(engine: Engine, clientId: string): Promise<TokenRecord | undefined> {
  try {
    return await engine.store.get(clientId);
  } catch (error) {
    throw storeFailure(engine, error, clientId);
  }
}

/** The client's credentials, refused when their Identity URL is not on the allowlist. */
export async function readCredentials(
  engine: Engine,
  clientId: string,
  bypassCache: boolean,
): Promise<ClientCredentials> {
  const credentials = await engine.credentials.get(clientId, { bypassCache });
  assertIdentityUrlAllowed(
    credentials.identityUrl,
    engine.config.identityUrlPolicy,
    `credentials of client "${clientId}"`,
  );
  return credentials;
}
