/** Vending from an instance pool: the member token with the most life left, one member fetched at a time. */
import type { ClientVending } from './client-vend.js';
import { IdentityUnavailableError, TokenVendorError, UnknownClientError } from './errors.js';
import { fingerprint } from './fingerprint.js';
import { assertValidInstance } from './ids.js';
import { confirmedMembers, groupByInstance } from './pool.js';
import type { StoredToken } from './ports.js';
import { assertRejectedToken } from './rejected-token.js';
import type { SingleFlight } from './single-flight.js';
import { isUnexpired, isUsable, waitForSuccessor } from './token-life.js';
import type { TokenSource, TokenVendor, VendedToken, VendOptions } from './token-vendor-api.js';
import { resolveVendOptions } from './vend-options.js';
import { vendedToken } from './vended-token.js';
import type { VendorState } from './vendor-state.js';

export type PoolVending = Pick<TokenVendor, 'getInstanceToken' | 'invalidateInstance'>;

export function createPoolVending(
  state: VendorState,
  singleFlight: SingleFlight,
  clients: ClientVending,
): PoolVending {
  const { clock, config, logger, metrics, tokensInMemory } = state;

  /** The tags of every listed client, reused for `poolMembershipCacheMs`. */
  let listing: { readonly at: number; readonly byInstance: Map<string, string[]> } | undefined;
  /** Confirmed members per instance (tag and secret agree), reused for `poolMembershipCacheMs`. */
  const memberships = new Map<string, { readonly at: number; readonly members: string[] }>();
  const poolMembers = async (instance: string): Promise<string[]> => {
    const now = clock.now();
    const fresh = (entry: { readonly at: number } | undefined) =>
      entry !== undefined && now - entry.at < config.poolMembershipCacheMs;
    let members = memberships.get(instance);
    if (!fresh(members)) {
      if (!fresh(listing)) {
        listing = { at: now, byInstance: groupByInstance(await state.credentials.list()) };
      }
      const tagged = listing?.byInstance.get(instance) ?? [];
      // The secret's own `instance` field, read past the credentials cache so the window stays this one.
      const failures: unknown[] = [];
      const secretInstances = new Map(
        await Promise.all(
          tagged.map(async (clientId) => {
            try {
              const credentials = await state.credentials.get(clientId, { bypassCache: true });
              return [clientId, credentials.instance] as const;
            } catch (error) {
              failures.push(error);
              return [clientId, undefined] as const;
            }
          }),
        ),
      );
      const confirmed = confirmedMembers(instance, secretInstances);
      for (const clientId of confirmed.excluded) {
        logger.warn('pool member excluded: its instance tag and its secret disagree', {
          instance,
          clientId,
          secretInstance: secretInstances.get(clientId) ?? null,
        });
      }
      if (confirmed.members.length === 0 && failures.length > 0) throw failures[0];
      members = { at: now, members: confirmed.members };
      if (tagged.length > 0) memberships.set(instance, members);
    }
    if (!members || members.members.length === 0) {
      throw new UnknownClientError(`no clients registered for instance "${instance}"`);
    }
    return members.members;
  };

  const getInstanceToken = async (instance: string, options?: VendOptions): Promise<VendedToken> => {
    assertValidInstance(instance);
    const { minValidityMs, maxWaitMs } = resolveVendOptions(options, config);
    const deadline = clock.now() + maxWaitMs;
    const members = await poolMembers(instance);
    const failed = new Map<string, unknown>();
    let refreshedMissing = false;
    for (;;) {
      const candidates = members.filter((id) => !failed.has(id));
      const known = await Promise.all(
        candidates.map(async (clientId) => ({
          clientId,
          ...(await clients.tokenFromMemoryOrStore(clientId, minValidityMs)),
        })),
      );
      let best: { clientId: string; token: StoredToken; source: TokenSource } | undefined;
      for (const member of known) {
        if (
          member.token &&
          isUsable(state, member.token, minValidityMs) &&
          (!best || member.token.expiresAt > best.token.expiresAt)
        ) {
          best = { clientId: member.clientId, token: member.token, source: member.source };
        }
      }
      if (best) return vendedToken(state, best.clientId, best.token, best.source);
      const expired = known.filter((s) => !s.token || !isUnexpired(state, s.token));
      if (expired.length > 0 && !refreshedMissing) {
        // No member can serve: fetch one member whose token is gone now (one, to keep the stagger).
        refreshedMissing = true;
        for (const { clientId, token } of expired) {
          try {
            await singleFlight(clientId, token?.accessToken, deadline);
            break;
          } catch (error) {
            failed.set(clientId, error);
            metrics.record('PoolMemberFailed', 1, 'Count');
            logger.error('pool member failed; serving from the others', {
              instance,
              clientId,
              code: error instanceof TokenVendorError ? error.code : 'InternalError',
            });
          }
        }
        continue;
      }
      const live = known.flatMap((s) => (s.token && isUnexpired(state, s.token) ? [s.token] : []));
      if (live.length === 0) {
        throw (
          failed.values().next().value ??
          new IdentityUnavailableError(`no member of instance "${instance}" has a token`)
        );
      }
      await waitForSuccessor(
        state,
        live.reduce((soonest, t) => (t.expiresAt < soonest.expiresAt ? t : soonest)),
        deadline,
        () =>
          `no member of instance "${instance}" has ${minValidityMs / 1000} s of validity left and the next ` +
          'token is only issued at expiry; retry after it',
      );
      refreshedMissing = false;
    }
  };

  const invalidateInstance = async (
    instance: string,
    rejectedAccessToken: string,
    options?: VendOptions,
  ): Promise<VendedToken> => {
    assertValidInstance(instance);
    assertRejectedToken(rejectedAccessToken);
    const members = await poolMembers(instance);
    const holders = await Promise.all(
      members.map(async (clientId) =>
        tokensInMemory.get(clientId)?.accessToken === rejectedAccessToken ||
        (await clients.storedToken(clientId)).token?.accessToken === rejectedAccessToken
          ? clientId
          : undefined,
      ),
    );
    const holder = holders.find((clientId) => clientId !== undefined);
    if (holder !== undefined) await clients.invalidate(holder, rejectedAccessToken, options);
    else
      logger.info('invalidate: pool token already replaced', {
        instance,
        rejected: fingerprint(rejectedAccessToken),
      });
    return getInstanceToken(instance, options);
  };

  return { getInstanceToken, invalidateInstance };
}
