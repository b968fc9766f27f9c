/**
 * What the budget routes (permits, Bulk API slots) name in their path: a client, or a pool's instance; and
 * the instance key (REST host) its registered credentials give, which every limit of Marketo is counted by.
 */
import type { Route } from '../contract/index.js';
import { instanceKeyOf } from '../core/budget/limits.js';
import { UnknownClientError } from '../core/errors.js';
import { assertValidClientId, assertValidInstance } from '../core/ids.js';
import type { CredentialsSource } from '../core/ports.js';

export type InstanceTarget = { readonly clientId: string } | { readonly instance: string };

/** The client (or pool instance) a route's path parameter names, validated. */
export function routeTarget(route: Route, name: string | undefined): InstanceTarget {
  if (route.pathParameter === 'clientId') {
    assertValidClientId(name);
    return { clientId: name };
  }
  assertValidInstance(name);
  return { instance: name };
}

/** The instance key of a client, or of a pool's first registered member. */
export async function instanceKeyOfTarget(
  credentials: CredentialsSource,
  target: InstanceTarget,
): Promise<string> {
  if ('clientId' in target) return instanceKeyOf(await credentials.get(target.clientId));
  const member = (await credentials.list()).find((c) => c.instance === target.instance);
  if (!member) throw new UnknownClientError(`no client is registered for instance ${target.instance}`);
  return instanceKeyOf(await credentials.get(member.clientId));
}
