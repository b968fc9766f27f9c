/** Where a client secret may be sent: the Identity URL allowlist that keeps the vendor from being an SSRF. */
import { LOOPBACK_HOSTS } from '../contract/index.js';
import { CredentialsMisconfiguredError } from './errors.js';

/**
 * Identity host allowlist entries: exact hosts (`127.0.0.1`) or one leading wildcard label
 * (`*.mktorest.com`). Loopback http is accepted only when `allowInsecureLoopback` is set (local mode, tests).
 */
export interface IdentityUrlPolicy {
  readonly allowedHosts: readonly string[];
  readonly allowInsecureLoopback?: boolean;
}

const hostMatches = (host: string, pattern: string): boolean => {
  const p = pattern.toLowerCase();
  if (p.startsWith('*.')) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
  return host === p;
};

/** Refuses identity URLs that would make the vendor send a client secret somewhere else (SSRF). */
export function assertIdentityUrlAllowed(
  identityUrl: string,
  policy: IdentityUrlPolicy,
  where: string,
): void {
  const url = URL.canParse(identityUrl) ? new URL(identityUrl) : undefined;
  if (!url) throw new CredentialsMisconfiguredError(`${where}: identityUrl is not a valid URL`);
  const host = url.hostname.toLowerCase();
  const loopbackOk =
    policy.allowInsecureLoopback === true && LOOPBACK_HOSTS.includes(host) && url.protocol === 'http:';
  if (url.protocol !== 'https:' && !loopbackOk) {
    throw new CredentialsMisconfiguredError(`${where}: identityUrl must use https`);
  }
  if (url.username || url.password) {
    throw new CredentialsMisconfiguredError(`${where}: identityUrl must not contain user info`);
  }
  if (!policy.allowedHosts.some((pattern) => hostMatches(host, pattern))) {
    throw new CredentialsMisconfiguredError(
      `${where}: identityUrl host "${host}" is not on the allowlist (${policy.allowedHosts.join(', ')})`,
    );
  }
}
