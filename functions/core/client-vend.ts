/** Vending one client's token: from memory, the store, or (once per expiry) the single flight. */
import { fingerprint } from './fingerprint.js';
import { assertValidClientId } from './ids.js';
import type { StoredToken, TokenRecord } from './ports.js';
import { assertRejectedToken } from './rejected-token.js';
import type { SingleFlight } from './single-flight.js';
import { storeFailure } from './store-access.js';
import { isUnexpired, isUsable, remainingMs, waitForSuccessor } from './token-life.js';
import type { TokenSource, TokenVendor, VendedToken, VendOptions } from './token-vendor-api.js';
import { resolveVendOptions } from './vend-options.js';
import { vendedToken } from './vended-token.js';
import type { VendorState } from './vendor-state.js';

/** A client's token as this instance knows it, where it came from, and the store item's version. */
export interface KnownToken {
  readonly token?: StoredToken;
  readonly source: TokenSource;
  readonly version?: number;
}

export interface ClientVending extends Pick<TokenVendor, 'getToken' | 'invalidate'> {
  /** The store's token (remembered in memory); this instance's memory when the store cannot be read. */
  storedToken(clientId: string): Promise<KnownToken>;
  /** This instance's token when it serves `minValidityMs` (no store read), else `storedToken`. */
  tokenFromMemoryOrStore(clientId: string, minValidityMs: number): Promise<KnownToken>;
}

export function createClientVending(state: VendorState, singleFlight: SingleFlight): ClientVending {
  const { clock, config, logger, metrics, tokensInMemory } = state;

  const storedToken = async (clientId: string, consistent = true): Promise<KnownToken> => {
    const inMemory = tokensInMemory.get(clientId);
    let record: TokenRecord | undefined;
    try {
      record = await state.store.get(clientId, { consistent });
    } catch (error) {
      storeFailure(state, error, clientId);
      return inMemory ? { token: inMemory, source: 'memory' } : { source: 'store' };
    }
    if (record?.token) tokensInMemory.set(clientId, record.token);
    return { token: record?.token, source: 'store', version: record?.version };
  };

  const tokenFromMemoryOrStore = async (
    clientId: string,
    minValidityMs: number,
    consistent = true,
  ): Promise<KnownToken> => {
    const inMemory = tokensInMemory.get(clientId);
    if (inMemory && isUsable(state, inMemory, minValidityMs)) return { token: inMemory, source: 'memory' };
    return storedToken(clientId, consistent);
  };

  /** A token with `minValidityMs` left by `deadline`: waits out a too-short one, refreshes a dead one. */
  const vendUsableToken = async (
    clientId: string,
    minValidityMs: number,
    deadline: number,
  ): Promise<VendedToken> => {
    // After waiting out a rotation the read is eventually consistent (half the units on a hot key): a
    // usable token it shows is real, and anything else goes to the lease, which confirms before acting.
    let consistent = true;
    for (;;) {
      const { token, source } = await tokenFromMemoryOrStore(clientId, minValidityMs, consistent);
      if (token && isUsable(state, token, minValidityMs)) return vendedToken(state, clientId, token, source);
      if (token && isUnexpired(state, token)) {
        await waitForSuccessor(
          state,
          token,
          deadline,
          () =>
            `the token of client "${clientId}" expires in ${Math.floor(remainingMs(state, token) / 1000)} s, ` +
            `less than the ${minValidityMs / 1000} s asked for, and its successor is only issued at expiry; ` +
            'retry after it',
        );
        consistent = false;
        continue;
      }
      const refreshed = await singleFlight(clientId, token?.accessToken, deadline);
      if (isUsable(state, refreshed.token, minValidityMs))
        return vendedToken(state, clientId, refreshed.token, refreshed.source);
      // Shorter than asked (Identity reconfirmed an old token): the next round waits it out or says so.
    }
  };

  const getToken = async (clientId: string, options?: VendOptions): Promise<VendedToken> => {
    assertValidClientId(clientId);
    const { minValidityMs, maxWaitMs } = resolveVendOptions(options, config);
    return vendUsableToken(clientId, minValidityMs, clock.now() + maxWaitMs);
  };

  const invalidate = async (
    clientId: string,
    rejectedAccessToken: string,
    options?: VendOptions,
  ): Promise<VendedToken> => {
    assertValidClientId(clientId);
    assertRejectedToken(rejectedAccessToken);
    const { minValidityMs, maxWaitMs } = resolveVendOptions(options, config);
    metrics.record('Invalidations', 1, 'Count');
    const rejected = fingerprint(rejectedAccessToken);
    if (tokensInMemory.get(clientId)?.accessToken === rejectedAccessToken) tokensInMemory.delete(clientId);
    const deadline = clock.now() + maxWaitMs;
    const { token, version } = await storedToken(clientId);
    if (token?.accessToken !== rejectedAccessToken) {
      logger.info('invalidate: token already replaced', { clientId, rejected });
      return vendUsableToken(clientId, minValidityMs, deadline);
    }
    if (
      token.reconfirmedAt !== undefined &&
      clock.now() - token.reconfirmedAt < config.invalidationCooldownMs
    ) {
      metrics.record('InvalidationsSuppressed', 1, 'Count');
      logger.info('invalidate: Identity reconfirmed this token moments ago; answering from the store', {
        clientId,
        rejected,
      });
      return vendUsableToken(clientId, minValidityMs, deadline);
    }
    logger.info('invalidate: refreshing rejected token', { clientId, rejected });
    const refreshed = await singleFlight(clientId, rejectedAccessToken, deadline, version ?? 0);
    if (isUsable(state, refreshed.token, minValidityMs))
      return vendedToken(state, clientId, refreshed.token, refreshed.source);
    return vendUsableToken(clientId, minValidityMs, deadline);
  };

  return { getToken, invalidate, storedToken, tokenFromMemoryOrStore };
}
