/** An instance's limits as the budget applies them: an operator's override checked, the reserved share off. */
import { type InstanceLimits, limitsOverrideProblem, MARKETO_DEFAULT_LIMITS } from '../../contract/index.js';
import { InvalidRequestError } from '../errors.js';
import type { ClientCredentials } from '../ports.js';

/** What the vendor itself may hand out after the reserved share is taken off. */
export interface EffectiveLimits {
  readonly callsPerWindow: number;
  readonly rateWindowMs: number;
  readonly concurrentCalls: number;
  readonly dailyQuota: number;
  /** Concurrent calls one client (or pool) may hold (`clientShare` of the vendor's). */
  readonly clientConcurrentCalls: number;
  readonly enabled: boolean;
}

export const effectiveLimits = (limits: InstanceLimits): EffectiveLimits => {
  const keep = 1 - limits.reservedShare;
  const concurrentCalls = Math.max(1, Math.floor(limits.concurrentCalls * keep));
  return {
    callsPerWindow: Math.max(1, Math.floor(limits.callsPerWindow * keep)),
    rateWindowMs: limits.rateWindowMs,
    concurrentCalls,
    dailyQuota: Math.max(1, Math.floor(limits.dailyQuota * keep)),
    clientConcurrentCalls: Math.max(1, Math.floor(concurrentCalls * limits.clientShare)),
    enabled: limits.enabled,
  };
};

/**
 * Validates an operator's override (CLI, construct config, `BUDGET_LIMITS` env) and merges it over the
 * defaults. Throws `InvalidRequestError` naming the field and the value received.
 */
export function resolveLimits(
  override: Partial<Record<keyof InstanceLimits, unknown>> = {},
  base: InstanceLimits = MARKETO_DEFAULT_LIMITS,
): InstanceLimits {
  const problem = limitsOverrideProblem(override);
  if (problem !== undefined) throw new InvalidRequestError(problem);
  const given = Object.entries(override).filter(([, value]) => value !== undefined);
  return { ...base, ...Object.fromEntries(given) } as InstanceLimits;
}

/**
 * The budget key of a client: Marketo counts limits per instance, which is its REST host, or its Identity
 * host when no REST URL is registered (both are `<munchkin>.mktorest.com` on a real instance).
 */
export function instanceKeyOf(credentials: Pick<ClientCredentials, 'identityUrl' | 'restUrl'>): string {
  const url = new URL(credentials.restUrl ?? credentials.identityUrl);
  return url.host.toLowerCase();
}
