/**
 * The list prices of docs/cost.md (us-east-1, on-demand, first tier, no free tier), for benchmarks that turn
 * what they counted into a monthly bill. docs/cost.md is the source: change a price there and here together.
 */
export const PRICES_USD = {
  lambdaPerMillionRequests: 0.2,
  lambdaPerGbSecondArm: 0.0000133334,
  dynamoPerMillionReadUnits: 0.125,
  dynamoPerMillionWriteUnits: 0.625,
  secretsManagerPer10kCalls: 0.05,
  sqsPerMillionRequests: 0.4,
} as const;

/** Hours in the month docs/cost.md reckons with (30 days). */
export const HOURS_PER_MONTH = 720;

/** The construct's memory size for both functions, GB. */
export const FUNCTION_MEMORY_GB = 0.5;

/** What one period cost, by service (USD). */
export interface CostBreakdown {
  readonly lambdaRequests: number;
  readonly lambdaDuration: number;
  readonly dynamoReads: number;
  readonly dynamoWrites: number;
  readonly secretsManager: number;
  readonly sqs: number;
  readonly total: number;
}

/** Usage in one period. */
export interface Usage {
  readonly invocations: number;
  readonly billedSeconds: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly secretsManagerCalls: number;
  readonly sqsRequests: number;
}

/** The bill for `usage`, scaled by `times` (e.g. {@link HOURS_PER_MONTH} for an hour's usage). */
export function costOf(usage: Usage, times = 1): CostBreakdown {
  const p = PRICES_USD;
  const parts = {
    lambdaRequests: (usage.invocations / 1e6) * p.lambdaPerMillionRequests * times,
    lambdaDuration: usage.billedSeconds * FUNCTION_MEMORY_GB * p.lambdaPerGbSecondArm * times,
    dynamoReads: (usage.readUnits / 1e6) * p.dynamoPerMillionReadUnits * times,
    dynamoWrites: (usage.writeUnits / 1e6) * p.dynamoPerMillionWriteUnits * times,
    secretsManager: (usage.secretsManagerCalls / 1e4) * p.secretsManagerPer10kCalls * times,
    sqs: (usage.sqsRequests / 1e6) * p.sqsPerMillionRequests * times,
  };
  return { ...parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
}
