/**
 * `createTokenClient`: the consumer's client of the token vendor, composed of a SigV4 caller, the permits
 * of the shared API budget, the token cache and the Marketo calls made with its tokens.
 */
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { runBulkExport } from './bulk-export.js';
import { createBulkSlots } from './bulk-slots.js';
import { DEFAULT_MIN_VALIDITY_SECONDS, REQUEST_MIN_VALIDITY_SECONDS } from './defaults.js';
import { createMarketoCalls } from './marketo-calls.js';
import { createPermits } from './permits.js';
import { createSignedCaller, realClock } from './signed-call.js';
import { createTokenCache } from './token-cache.js';
import type { GetTokenOptions, TokenClient, TokenClientOptions } from './token-client-api.js';
import { clientTarget, type Demand, demandOf, instanceTarget } from './token-target.js';

/** Creates a SigV4-signing client of the token vendor API with an in-memory token cache. */
export function createTokenClient(options: TokenClientOptions): TokenClient {
  const clock = options.clock ?? realClock;
  const fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const call = createSignedCaller({
    endpoint: options.endpoint,
    region: options.region,
    credentials: options.credentials ?? fromNodeProviderChain(),
    fetch,
    clock,
  });
  const permits = createPermits({
    call,
    clock,
    ...(options.budget === undefined ? {} : { budget: options.budget }),
  });
  const retryBudgetMs = options.retryBudgetMs === undefined ? {} : { retryBudgetMs: options.retryBudgetMs };
  /** `getToken` / `getInstanceToken` / `invalidate`: the API's default validity. */
  const tokenDemand = (opts: GetTokenOptions): Demand =>
    demandOf(opts, {
      minValidity: options.defaultMinValiditySeconds ?? DEFAULT_MIN_VALIDITY_SECONDS,
      ...retryBudgetMs,
    });
  /** `withToken` / `withInstanceToken` / `marketoFetch`: the validity of one request. */
  const requestDemand = (opts: GetTokenOptions): Demand =>
    demandOf(opts, {
      minValidity: options.requestMinValiditySeconds ?? REQUEST_MIN_VALIDITY_SECONDS,
      ...retryBudgetMs,
    });
  const tokens = createTokenCache({ call, clock });
  const marketo = createMarketoCalls({ permits, tokens, demand: requestDemand, fetch });
  const bulkSlots = createBulkSlots({ call, clock });

  return {
    getToken: async (clientId, opts = {}) => tokens.get(clientTarget(clientId), tokenDemand(opts)),
    getInstanceToken: async (instance, opts = {}) => tokens.get(instanceTarget(instance), tokenDemand(opts)),
    invalidate: async (clientId, accessToken) =>
      tokens.invalidate(clientTarget(clientId), accessToken, tokenDemand({})),
    withToken: (clientId, fn, opts = {}) => marketo.withTargetToken(clientTarget(clientId), fn, opts),
    withInstanceToken: (instance, fn, opts = {}) =>
      marketo.withTargetToken(instanceTarget(instance), fn, opts),
    marketoFetch: (clientId, url, init = {}) => marketo.marketoFetch(clientId, url, init),
    bulkExport: (clientId, opts) =>
      runBulkExport(
        {
          slots: bulkSlots,
          clock,
          marketoFetch: (url, init = {}) => marketo.marketoFetch(clientId, url, init),
        },
        clientTarget(clientId).permits,
        opts,
      ),
    acquireBulkSlot: (clientId, opts) => bulkSlots.acquire(clientTarget(clientId).permits, opts),
    budgetStats: () => permits.stats(),
    close: () => permits.close(),
    clear: (clientId) => tokens.clear(clientId === undefined ? undefined : clientTarget(clientId)),
  };
}
