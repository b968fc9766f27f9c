/** What `clients add` and `clients refresh` share about Identity: the URL allowlist and how long to wait. */
import { DEFAULT_IDENTITY_HOSTS, ENV, LOOPBACK_HOSTS } from '../../functions/contract/index.js';
import type { IdentityUrlPolicy } from '../../functions/core/credentials.js';

/** Identity answers within a second or two; a verify or refresh that takes longer is reported, not waited on. */
export const IDENTITY_TIMEOUT_MS = 10_000;

/** Identity URL policy options shared by `add` (validation) and `refresh` (the core checks again). */
export interface PolicyOptions {
  readonly allowHost?: readonly string[];
  readonly allowLoopback?: boolean;
}

/** The allowlist: IDENTITY_ALLOWED_HOSTS (as the Lambdas read it) or Marketo's hosts, plus `--allow-host`. */
export function identityPolicy(
  options: PolicyOptions,
  env: Readonly<Record<string, string | undefined>>,
): IdentityUrlPolicy {
  const fromEnv = (env[ENV.identityAllowedHosts] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h.length > 0);
  const base = fromEnv.length > 0 ? fromEnv : DEFAULT_IDENTITY_HOSTS;
  return {
    allowedHosts: [...base, ...(options.allowHost ?? []), ...(options.allowLoopback ? LOOPBACK_HOSTS : [])],
    allowInsecureLoopback: options.allowLoopback === true,
  };
}
