/**
 * The token engine's factory. Each concern lives in its own module; this file only wires them:
 * - `engine.ts`: the ports, configuration and token memory one instance shares;
 * - `token-life.ts`: live, usable, unexpired, and waiting for a successor;
 * - `identity-fetch.ts`: one refresh's Identity calls (retry, backoff, secret re-read, not yet rotated);
 * - `lease-refresh.ts`: the store's lease, the cross-instance single flight;
 * - `single-flight.ts`: the in-process single flight, with a deadline per caller;
 * - `client-vend.ts` / `pool-vend.ts`: vending a client's token / an instance pool's best token;
 * - `refresh-sweep.ts`: the refresher's sweep; `refresh-due.ts`: a worker's sweep of one queued message;
 * - `refresh-planner.ts`: the scheduled run queuing due refreshes; `vend-options.ts`: per-request options.
 */
import { createClientVending } from './client-vend.js';
import { createEngine } from './engine.js';
import { createPoolVending } from './pool-vend.js';
import { refreshDue } from './refresh-due.js';
import { refreshAll } from './refresh-sweep.js';
import { createSharedRefresh } from './single-flight.js';
import type { TokenVendor, TokenVendorDeps } from './token-vendor-api.js';
import type { TokenVendorConfig } from './vendor-config.js';

export type * from './token-vendor-api.js';
export { MAX_MIN_VALIDITY_SECONDS, MAX_WAIT_LIMIT_MS, resolveVendOptions } from './vend-options.js';
export { DEFAULT_TOKEN_VENDOR_CONFIG } from './vendor-config.js';

/**
 * Creates a token engine from its ports. Instances are independent: each has its own memory cache and
 * in-process single flight, and they coordinate through the store's refresh lease.
 */
export function createTokenVendor(
  deps: TokenVendorDeps,
  config: Partial<TokenVendorConfig> = {},
): TokenVendor {
  const engine = createEngine(deps, config);
  const refreshShared = createSharedRefresh(engine);
  const clients = createClientVending(engine, refreshShared);
  const pools = createPoolVending(engine, refreshShared, clients);
  return {
    getToken: clients.getToken,
    invalidate: clients.invalidate,
    getInstanceToken: pools.getInstanceToken,
    invalidateInstance: pools.invalidateInstance,
    refreshAll: (options) => refreshAll(engine, refreshShared, options),
    refreshDue: (options) => refreshDue(engine, refreshShared, options),
  };
}
