import type { CredentialsSource } from '../core/ports.js';
import { listPool } from '../core/refresh-due.js';

/**
 * Defers building a credentials source until the first call. The vend path's hot case (a cached token)
 * never needs credentials, so the Secrets Manager client stays off the cold-start path.
 */
export function lazyCredentials(load: () => Promise<CredentialsSource>): CredentialsSource {
  let source: Promise<CredentialsSource> | undefined;
  const resolve = (): Promise<CredentialsSource> => {
    source ??= load().catch((error: unknown) => {
      source = undefined;
      throw error;
    });
    return source;
  };
  return {
    get: async (clientId, options) => (await resolve()).get(clientId, options),
    list: async () => (await resolve()).list(),
    listInstance: async (instance) => listPool(await resolve(), instance),
  };
}
