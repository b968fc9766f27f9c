/** The refresher's worker: sweeps the clients of one queued message, with their pools for the stagger. */
import type { CredentialsSource, RegisteredClient } from './ports.js';
import { refreshAll } from './refresh-sweep.js';
import type { SingleFlight } from './single-flight.js';
import type { RefreshDueOptions, RefreshSummary } from './token-vendor-api.js';
import type { VendorState } from './vendor-state.js';

/** One pool's members: the source's own pool listing, or every client filtered. */
export async function listPool(source: CredentialsSource, instance: string): Promise<RegisteredClient[]> {
  if (source.listInstance) return source.listInstance(instance);
  return (await source.list()).filter((client) => client.instance === instance);
}

/**
 * Sweeps the message's clients with a short horizon: a token due within it is waited out and replaced, a
 * later one (the message is stale: someone refreshed it already) is left alone. A pool member comes with its
 * pool's other members, whose expiries the stagger needs; when the pool cannot be listed, the member is
 * swept alone (refreshed on time, staggered again at a later expiry).
 */
export async function refreshDue(
  state: VendorState,
  singleFlight: SingleFlight,
  options: RefreshDueOptions,
): Promise<RefreshSummary> {
  const clients = new Map(options.clients.map((client) => [client.clientId, client]));
  const instances = new Set(options.clients.flatMap((client) => client.instance ?? []));
  await Promise.all(
    [...instances].map(async (instance) => {
      try {
        for (const member of await listPool(state.credentials, instance))
          clients.set(member.clientId, member);
      } catch (error) {
        state.logger.warn('pool members not listed; refreshing the due member alone', {
          instance,
          reason: error instanceof Error ? error.name : 'unknown error',
        });
      }
    }),
  );
  return refreshAll(state, singleFlight, { ...options, clients: [...clients.values()] });
}
