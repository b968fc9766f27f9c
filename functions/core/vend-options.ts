import { MAX_MIN_VALIDITY_SECONDS, MAX_WAIT_LIMIT_MS } from '../contract/index.js';
import { InvalidRequestError } from './errors.js';
import type { VendOptions } from './token-vendor-api.js';
import type { TokenVendorConfig } from './vendor-config.js';

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
