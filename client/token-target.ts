/**
 * What a token is fetched for, and how much of it a call needs. Clients today (`/tokens/{clientId}`);
 * pools (`/instances/{instance}/token`) are another target with their own cache key and path, sharing the
 * cache, single flight and retry logic.
 */
import { defaultRetryBudgetMs } from './defaults.js';
import { TokenVendorClientError } from './errors.js';
import type { PermitTarget } from './permits.js';
import type { GetTokenOptions } from './token-client-api.js';

/** A client or a pool, as the cache and the vendor's routes know it. */
export interface TokenTarget {
  readonly cacheKey: string;
  /** Whose share of the instance's API budget each Marketo call takes. */
  readonly permits: PermitTarget;
  readonly path: string;
  /** Where a token of this target that Marketo rejected is reported. */
  readonly invalidatePath: string;
}

/** Client ids and instance names share one alphabet (the vendor's; a spec test compares the two). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const assertName = (value: string, what: 'clientId' | 'instance'): void => {
  if (!NAME_PATTERN.test(value)) {
    throw new TokenVendorClientError(
      'InvalidRequest',
      `${what} must be 1-128 characters of A-Z, a-z, 0-9, ".", "_" or "-", starting with a letter or digit`,
      { status: 400 },
    );
  }
};

/** One Custom Service's tokens: `/tokens/{clientId}`. */
export const clientTarget = (clientId: string): TokenTarget => {
  assertName(clientId, 'clientId');
  return {
    cacheKey: `client:${clientId}`,
    permits: { clientId },
    path: `/tokens/${clientId}`,
    invalidatePath: `/tokens/${clientId}/invalidate`,
  };
};

/** An instance pool's tokens: `/instances/{instance}/token`. */
export const instanceTarget = (instance: string): TokenTarget => {
  assertName(instance, 'instance');
  return {
    cacheKey: `instance:${instance}`,
    permits: { instance },
    path: `/instances/${instance}/token`,
    invalidatePath: `/instances/${instance}/invalidate`,
  };
};

/** What one call asks the vendor for, and how long it may wait. */
export interface Demand {
  readonly minValidity: number;
  readonly retryBudgetMs: number;
}

/** The client-wide defaults a call's {@link GetTokenOptions} fall back on. */
export interface DemandDefaults {
  readonly minValidity: number;
  /** @default the rotation window of the call (`defaultRetryBudgetMs(minValidity)`) */
  readonly retryBudgetMs?: number;
}

/** The demand of one call: its own options, else the client's defaults. */
export const demandOf = (opts: GetTokenOptions, defaults: DemandDefaults): Demand => {
  const minValidity = opts.minValidity ?? defaults.minValidity;
  return {
    minValidity,
    retryBudgetMs: opts.retryBudgetMs ?? defaults.retryBudgetMs ?? defaultRetryBudgetMs(minValidity),
  };
};
