/**
 * The token engine's factory. Each concern lives in its own module; this file only wires them:
 * - `vendor-state.ts`: the ports, configuration and token memory one instance holds (state only);
 * - `store-access.ts`: reading the store, counting its failures, the items' TTL;
 * - `token-life.ts`: live, usable, unexpired, and waiting for a successor;
 * - `identity-fetch.ts`: one refresh's Identity calls (retry, backoff, secret re-read, not yet rotated);
 * - `lease-refresh.ts`: the store's refresh lease, which decides across instances who calls Identity;
 * - `single-flight.ts`: the single flight (one refresh per client in this instance), a deadline per caller;
 * - `client-vend.ts` / `pool-vend.ts`: vending a client's token / an instance pool's best token;
 * - `refresh-sweep.ts`: the refresher's sweep; `refresh-due.ts`: a worker's sweep of one queued message;
 * - `refresh-planner.ts`: the scheduled run queuing due refreshes; `vend-options.ts`: per-request options.
 */
import { createClientVending } from './client-vend.js';
import { createPoolVending } from './pool-vend.js';
import { refreshDue } from './refresh-due.js';
import { refreshAll } from './refresh-sweep.js';
import { createSingleFlight } from './single-flight.js';
import type { TokenVendor, TokenVendorDeps } from './token-vendor-api.js';
import type { TokenVendorConfig } from './vendor-config.js';
import { createVendorState } from './vendor-state.js';

/**
 * Creates a token engine from its ports. Instances are independent: each has its own memory cache and
 * single flight, and they coordinate through the store's refresh lease.
 */
export function createTokenVendor(
  deps: TokenVendorDeps,
  config: Partial<TokenVendorConfig> = {},
): TokenVendor {
  const state = createVendorState(deps, config);
  const singleFlight = createSingleFlight(state);
  const clients = createClientVending(state, singleFlight);
  const pools = createPoolVending(state, singleFlight, clients);
  return {
    getToken: clients.getToken,
    invalidate: clients.invalidate,
    getInstanceToken: pools.getInstanceToken,
    invalidateInstance: pools.invalidateInstance,
    refreshAll: (options) => refreshAll(state, singleFlight, options),
    refreshDue: (options) => refreshDue(state, singleFlight, options),
  };
}
