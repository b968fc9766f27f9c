/**
 * What `clients add`, `refresh` and `check` share about Identity: the URL allowlist, how long to wait, and
 * the Lambdas' token engine on the target.
 */
import { hostname } from 'node:os';
import { DEFAULT_IDENTITY_HOSTS, ENV, LOOPBACK_HOSTS } from '../../functions/contract/index.js';
import { CredentialsMisconfiguredError } from '../../functions/core/errors.js';
import {
  assertIdentityUrlAllowed,
  type IdentityUrlPolicy,
} from '../../functions/core/identity-url-policy.js';
import type { TokenStore } from '../../functions/core/ports.js';
import type { TokenVendor } from '../../functions/core/token-vendor-api.js';
import { wireVendor } from '../../functions/wire-vendor.js';
import { usageError } from '../errors.js';
import type { Target } from '../target.js';

/** Identity answers within a second or two; a verify or refresh that takes longer is reported, not waited on. */
export const IDENTITY_TIMEOUT_MS = 10_000;

/** Identity URL policy options shared by `add` (validation), `refresh` and `check` (the core checks again). */
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

/** What fixes a URL the policy refuses: the flag or the right URL to use, said the same by `add` and `refresh`. */
export function identityUrlFix(url: string): string {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed === undefined) return 'give a full URL such as https://123-ABC-456.mktorest.com/identity';
  if (LOOPBACK_HOSTS.includes(parsed.hostname)) {
    return 'add --allow-loopback to use a local simulator (never for production)';
  }
  if (parsed.protocol !== 'https:') return 'use the https URL from Admin > Web Services';
  return `copy the URL from Admin > Web Services, or add --allow-host ${parsed.hostname} if this really is a Marketo Identity endpoint`;
}

/** The fix for `url` when the policy refuses it, else `undefined`. */
export function refusedUrlFix(url: string, policy: IdentityUrlPolicy): string | undefined {
  try {
    assertIdentityUrlAllowed(url, policy, 'identityUrl');
    return undefined;
  } catch (error) {
    if (!(error instanceof CredentialsMisconfiguredError)) throw error;
    return identityUrlFix(url);
  }
}

/** Validates a URL option against the policy; a refusal is a usage error naming the flag that fixes it. */
export function checkUrl(url: string, flag: string, policy: IdentityUrlPolicy): void {
  try {
    assertIdentityUrlAllowed(url, policy, flag);
  } catch (error) {
    if (!(error instanceof CredentialsMisconfiguredError)) throw error;
    throw usageError(`${error.message} — ${identityUrlFix(url)}`);
  }
}

/** The Lambdas' token engine on the target's store, credentials and Identity client (`refresh`, `check`). */
export function cliVendor(
  target: Target,
  store: TokenStore,
  policy: IdentityUrlPolicy,
  maxWaitMs: number,
): TokenVendor {
  return wireVendor({
    store,
    credentials: target.registry.credentials,
    identity: target.identity,
    instanceId: `cli-${hostname()}-${process.pid}`,
    config: {
      identityUrlPolicy: policy,
      identityTimeoutMs: IDENTITY_TIMEOUT_MS,
      defaultMaxWaitMs: maxWaitMs,
    },
  });
}
