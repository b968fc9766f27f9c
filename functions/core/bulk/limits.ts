/** An instance's Bulk API limits as the slots apply them: an override checked, the reserved share off. */
import {
  type BulkKind,
  type BulkLimits,
  bulkLimitsOverrideProblem,
  MARKETO_BULK_LIMITS,
} from '../../contract/index.js';
import { InvalidRequestError } from '../errors.js';

/** What the vendor itself may hand out once the reserved share is taken off. */
export interface EffectiveBulkLimits {
  readonly slots: Readonly<Record<BulkKind, number>>;
  readonly exportDailyBytes: number;
}

export const effectiveBulkLimits = (limits: BulkLimits): EffectiveBulkLimits => {
  const keep = 1 - limits.reservedShare;
  return {
    slots: {
      extract: Math.max(1, Math.floor(limits.extractJobs * keep)),
      import: Math.max(1, Math.floor(limits.importJobs * keep)),
    },
    exportDailyBytes: Math.max(1, Math.floor(limits.exportDailyBytes * keep)),
  };
};

/**
 * Validates an override (construct config, `BULK_LIMITS`) and merges it over `base`: never above Marketo's
 * queues (10), whatever the configuration says. Throws `InvalidRequestError` naming the field and the value.
 */
export function resolveBulkLimits(
  override: Partial<Record<keyof BulkLimits, unknown>> = {},
  base: BulkLimits = MARKETO_BULK_LIMITS,
): BulkLimits {
  const problem = bulkLimitsOverrideProblem(override);
  if (problem !== undefined) throw new InvalidRequestError(problem);
  const given = Object.entries(override).filter(([, value]) => value !== undefined);
  return { ...base, ...Object.fromEntries(given) } as BulkLimits;
}
