/** The single flight: concurrent callers in one instance share one refresh, each with its own deadline. */
import { IdentityUnavailableError, StoreThrottledError, StoreUnavailableError } from './errors.js';
import { fetchFromIdentity, rotatingError } from './identity-fetch.js';
import { type Refreshed, refreshViaLease } from './lease-refresh.js';
import type { VendorState } from './vendor-state.js';

/**
 * Refreshes a client's token in the single flight (`stale`: the token the caller saw, if any; `checkedSince`:
 * the item version an invalidation saw) and settles by `callerDeadline`, even when the flight runs on.
 */
export type SingleFlight = (
  clientId: string,
  stale: string | undefined,
  callerDeadline: number,
  checkedSince?: number,
) => Promise<Refreshed>;

/** Resolves with `promise` or rejects with `onTimeout()` at `deadline`, leaving no timer behind. */
export async function withDeadline<T>(
  state: VendorState,
  promise: Promise<T>,
  deadline: number,
  onTimeout: () => Error,
): Promise<T> {
  const abort = new AbortController();
  const timeout = state.clock.sleep(Math.max(0, deadline - state.clock.now()), abort.signal).then(
    () => Promise.reject(onTimeout()),
    () => new Promise<never>(() => {}),
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    abort.abort();
  }
}

/** One flight per client at a time in this instance, around the store's lease (lease-refresh.ts). */
export function createSingleFlight(state: VendorState): SingleFlight {
  const { clock, logger, tokensInMemory, refreshBudgetMs } = state;
  const inFlight = new Map<string, Promise<Refreshed>>();
  return (clientId, stale, callerDeadline, checkedSince) => {
    let flight = inFlight.get(clientId);
    if (!flight) {
      const flightDeadline = clock.now() + refreshBudgetMs;
      flight = refreshViaLease(state, clientId, stale, flightDeadline, checkedSince)
        .catch(async (error: unknown): Promise<Refreshed> => {
          // A throttled store is there (the key is hot): going around the lease would stampede Identity.
          if (!(error instanceof StoreUnavailableError) || error instanceof StoreThrottledError) throw error;
          // Without the shared store, still serve: Identity returns the same token while it is valid.
          logger.warn('refreshing without the shared lease', { clientId });
          return { token: await fetchFromIdentity(state, clientId, flightDeadline), source: 'identity' };
        })
        .then((refreshed) => {
          tokensInMemory.set(clientId, refreshed.token);
          return refreshed;
        })
        .finally(() => inFlight.delete(clientId));
      inFlight.set(clientId, flight);
    }
    return withDeadline(
      state,
      flight,
      callerDeadline,
      () =>
        // The flight may be waiting out a rotating token: that, not Identity, is why there is none.
        rotatingError(state, clientId) ??
        new IdentityUnavailableError(`no token for client "${clientId}" within the wait budget`, {
          retryAfterSeconds: 1,
        }),
    );
  };
}
