import type { StoredToken } from './ports.js';
import { remainingMs } from './token-life.js';
import type { TokenSource, VendedToken } from './token-vendor-api.js';
import type { VendorState } from './vendor-state.js';

const VEND_METRIC = {
  memory: 'VendFromMemory',
  store: 'VendFromStore',
  identity: 'VendFromIdentity',
} as const;

/** The token as handed to a consumer, counted by where it came from. */
export function vendedToken(
  state: VendorState,
  clientId: string,
  token: StoredToken,
  source: TokenSource,
): VendedToken {
  const remaining = remainingMs(state, token);
  state.metrics.record(VEND_METRIC[source], 1, 'Count');
  state.metrics.record('TokenRemainingSeconds', Math.floor(remaining / 1000), 'Seconds');
  return {
    clientId,
    accessToken: token.accessToken,
    tokenType: token.tokenType,
    ...(token.scope === undefined ? {} : { scope: token.scope }),
    expiresAt: token.expiresAt,
    expiresInSeconds: Math.floor(remaining / 1000),
    source,
  };
}
