/**
 * The limits Marketo enforces per instance, shared by every integration that calls it (Marketo Integration
 * Best Practices, "API Limits"): 606 rate, 615 concurrency, 607 daily quota (its reset: quota-day.ts). The
 * construct validates an operator's limits at synthesis with the same rules the runtime applies.
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
   * consumer's long leases cannot take every slot of an instance from the others. Not a Marketo limit: the
   * vendor's own fairness between the consumers of an instance. @default 0.5
   */
  readonly clientShare: number;
  /** @default true */
  readonly enabled: boolean;
}

/**
 * Overrides per instance key (an instance's REST host) or `default` for all, as the deployment configures them
 * (`BUDGET_LIMITS`, `BULK_LIMITS`): what is not set stays Marketo's documented value.
 */
export interface LimitsByInstance<L> {
  readonly default?: Partial<L>;
  readonly [instance: string]: Partial<L> | undefined;
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

/** The values an operator may set each numeric limit to, inclusive. */
export const INSTANCE_LIMIT_RANGES: Readonly<
  Record<Exclude<keyof InstanceLimits, 'enabled'>, readonly [number, number]>
> = Object.freeze({
  callsPerWindow: [1, 100_000],
  rateWindowMs: [1_000, 3_600_000],
  concurrentCalls: [1, 1_000],
  dailyQuota: [1, 100_000_000],
  reservedShare: [0, 0.9],
  clientShare: [0.1, 1],
});

/**
 * Why an operator's limits override (CLI, construct config, `BUDGET_LIMITS` env) is not valid, naming the
 * field and the value received; `undefined` when it is. Fields left `undefined` are not checked.
 */
export function limitsOverrideProblem(
  override: Partial<Record<keyof InstanceLimits, unknown>>,
): string | undefined {
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    if (key === 'enabled') {
      if (typeof value !== 'boolean') return `enabled must be true or false, got ${String(value)}`;
      continue;
    }
    const range = INSTANCE_LIMIT_RANGES[key as keyof typeof INSTANCE_LIMIT_RANGES];
    if (!range) return `unknown budget limit "${key.slice(0, 40)}"`;
    const problem = limitValueProblem(key, value, range);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * Why `value` is not a setting of the limit `key`: a whole number within `range` (a share, `reservedShare`
 * or `clientShare`, any number within it); `undefined` when it is.
 */
export function limitValueProblem(
  key: string,
  value: unknown,
  range: readonly [number, number],
): string | undefined {
  const integer = key !== 'reservedShare' && key !== 'clientShare';
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value)) ||
    value < range[0] ||
    value > range[1]
  ) {
    return `${key} must be ${integer ? 'a whole number' : 'a number'} from ${range[0]} to ${range[1]}, got ${String(value).slice(0, 40)}`;
  }
  return undefined;
}
