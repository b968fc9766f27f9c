/**
 * The token store as the core uses it (Powertools idempotency's `persistence/` layer is the model): a read
 * whose failure becomes `StoreUnavailableError`, the accounting of every store failure, and the TTL its
 * items are written with.
 */
import { StoreThrottledError, StoreUnavailableError } from './errors.js';
import type { StoredToken, TokenRecord } from './ports.js';
import type { VendorState } from './vendor-state.js';

/** DynamoDB's (and the SDK's) names for a request refused for throughput, after the SDK's own retries. */
const THROTTLED = /ProvisionedThroughputExceeded|Throttl|RequestLimitExceeded/;

/** Counts and logs a store failure and returns the typed error to throw (naming the error class only). */
export function storeFailure(state: VendorState, error: unknown, clientId: string): StoreUnavailableError {
  const reason = error instanceof Error ? error.name : 'unknown error';
  if (THROTTLED.test(reason)) {
    state.metrics.record('StoreThrottled', 1, 'Count');
    return new StoreThrottledError(`token store throttled (${reason})`, {
      cause: error,
      retryAfterSeconds: 1,
    });
  }
  state.metrics.record('StoreErrors', 1, 'Count');
  state.logger.warn('token store unavailable', { clientId, reason });
  return new StoreUnavailableError(`token store unavailable (${reason})`, {
    cause: error,
    retryAfterSeconds: 1,
  });
}

/** The client's item (strongly consistent unless asked otherwise), or `StoreUnavailableError`. */
export async function readRecord(
  state: VendorState,
  clientId: string,
  options?: { readonly consistent?: boolean },
): Promise<TokenRecord | undefined> {
  try {
    return await state.store.get(clientId, options);
  } catch (error) {
    throw storeFailure(state, error, clientId);
  }
}

/** DynamoDB TTL of a client's item: a retention period after its token's expiry (or now). */
export const itemExpiryEpochSeconds = (state: VendorState, token?: StoredToken): number =>
  Math.ceil(Math.max(token?.expiresAt ?? 0, state.clock.now()) / 1000) + state.config.itemRetentionSeconds;
