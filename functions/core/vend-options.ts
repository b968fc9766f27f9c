import { InvalidRequestError } from './errors.js';
import type { VendOptions } from './token-vendor-api.js';
import type { TokenVendorConfig } from './vendor-config.js';

/** A token lives 3600 s; asking for more than this much validity can never be satisfied. */
export const MAX_MIN_VALIDITY_SECONDS = 3500;
/** Longest a caller may ask to wait (Lambda's own limit is 15 minutes). */
export const MAX_WAIT_LIMIT_MS = 900_000;

/** Validates and defaults per-request options; throws `InvalidRequestError` naming the bad option. */
export function resolveVendOptions(
  options: VendOptions | undefined,
  config: Pick<TokenVendorConfig, 'defaultMinValiditySeconds' | 'defaultMaxWaitMs'>,
): { minValidityMs: number; maxWaitMs: number } {
  const minValiditySeconds = options?.minValiditySeconds ?? config.defaultMinValiditySeconds;
  if (
    !Number.isInteger(minValiditySeconds) ||
    minValiditySeconds < 0 ||
    minValiditySeconds > MAX_MIN_VALIDITY_SECONDS
  ) {
    throw new InvalidRequestError(
      `minValidity must be a whole number of seconds from 0 to ${MAX_MIN_VALIDITY_SECONDS}`,
    );
  }
  const maxWaitMs = options?.maxWaitMs ?? config.defaultMaxWaitMs;
  if (!Number.isInteger(maxWaitMs) || maxWaitMs < 0 || maxWaitMs > MAX_WAIT_LIMIT_MS) {
    throw new InvalidRequestError(
      `maxWaitMs must be a whole number of milliseconds from 0 to ${MAX_WAIT_LIMIT_MS}`,
    );
  }
  return { minValidityMs: minValiditySeconds * 1000, maxWaitMs };
}
