import { InvalidRequestError } from '../errors.js';
import type { ClientCredentials } from '../ports.js';

/**
 * The limits Marketo enforces per instance, shared by every integration that calls it (Marketo
 * Integration Best Practices, "API Limits"): 606 rate, 615 concurrency, 607 daily quota.
 */
export interface InstanceLimits {
  /** Calls allowed in any rolling `rateWindowMs`. @default 100 */
  readonly callsPerWindow: number;
  /** @default 20_000 */
  readonly rateWindowMs: number;
  /** Calls in flight at once. @default 10 */
  readonly concurrentCalls: number;
  /** Calls per day, reset at 00:00 America/Chicago. @default 50_000 */
  readonly dailyQuota: number;
  /**
   * Share of every limit held back for integrations that do not use the vendor (0 to 0.9): with 0.2
   * the vendor hands out at most 80 calls per window, 8 concurrent and 40,000 a day. @default 0
   */
  readonly reservedShare: number;
  /**
   * Share of the vendor's concurrent calls one client (or pool) may hold at once (0.1 to 1), so one
   * consumer's long leases cannot take every slot of an instance from the others. @default 0.5
   */
  readonly clientShare: number;
  /** @default true */
  readonly enabled: boolean;
}

/** Marketo's documented limits: the defaults of every instance. */
export const MARKETO_DEFAULT_LIMITS: InstanceLimits = Object.freeze({
  callsPerWindow: 100,
  rateWindowMs: 20_000,
  concurrentCalls: 10,
  dailyQuota: 50_000,
  reservedShare: 0,
  clientShare: 0.5,
  enabled: true,
});

/** What the vendor itself may hand out after the reserved share is taken off. */
export interface EffectiveLimits {
  readonly callsPerWindow: number;
  readonly rateWindowMs: number;
  readonly concurrentCalls: number;
  readonly dailyQuota: number;
  /** Concurrent calls one client (or pool) may hold. */
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

const RANGES: Record<Exclude<keyof InstanceLimits, 'enabled'>, readonly [number, number]> = {
  callsPerWindow: [1, 100_000],
  rateWindowMs: [1_000, 3_600_000],
  concurrentCalls: [1, 1_000],
  dailyQuota: [1, 100_000_000],
  reservedShare: [0, 0.9],
  clientShare: [0.1, 1],
};

/**
 * Validates an operator's override (CLI, construct config, `BUDGET_LIMITS` env) and merges it over the
 * defaults. Errors name the field and the value received.
 */
export function resolveLimits(
  override: Partial<Record<keyof InstanceLimits, unknown>> = {},
  base: InstanceLimits = MARKETO_DEFAULT_LIMITS,
): InstanceLimits {
  const out: Record<string, number | boolean> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    if (key === 'enabled') {
      if (typeof value !== 'boolean')
        throw new InvalidRequestError(`enabled must be true or false, got ${String(value)}`);
      out.enabled = value;
      continue;
    }
    const range = RANGES[key as keyof typeof RANGES];
    if (!range) throw new InvalidRequestError(`unknown budget limit "${key.slice(0, 40)}"`);
    const integer = key !== 'reservedShare' && key !== 'clientShare';
    if (
      typeof value !== 'number' ||
      !Number.isFinite(value) ||
      (integer && !Number.isInteger(value)) ||
      value < range[0] ||
      value > range[1]
    ) {
      throw new InvalidRequestError(
        `${key} must be ${integer ? 'a whole number' : 'a number'} from ${range[0]} to ${range[1]}, got ${String(value).slice(0, 40)}`,
      );
    }
    out[key] = value;
  }
  return out as unknown as InstanceLimits;
}

/**
 * The budget key of a client: Marketo counts limits per instance, which is its REST host, or its Identity
 * host when no REST URL is registered (both are `<munchkin>.mktorest.com` on a real instance).
 */
export function instanceKeyOf(credentials: Pick<ClientCredentials, 'identityUrl' | 'restUrl'>): string {
  const url = new URL(credentials.restUrl ?? credentials.identityUrl);
  return url.host.toLowerCase();
}
