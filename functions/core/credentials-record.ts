import {
  ID_RULE,
  INSTANCE_PATTERN,
  isValidClientId,
  isValidInstance,
  LOOPBACK_HOSTS,
  MAX_REJECTED_TOKEN_LENGTH,
} from '../contract/index.js';
import { CredentialsMisconfiguredError, InvalidRequestError } from './errors.js';
import type { ClientCredentials } from './ports.js';

export { DEFAULT_IDENTITY_HOSTS } from '../contract/index.js';

/** Throws `InvalidRequestError` unless `clientId` matches the contract's id pattern. */
export function assertValidClientId(clientId: unknown): asserts clientId is string {
  if (!isValidClientId(clientId)) throw new InvalidRequestError(`clientId must be ${ID_RULE}`);
}

/** Throws `InvalidRequestError` unless `instance` is a valid instance name. */
export function assertValidInstance(instance: unknown): asserts instance is string {
  if (!isValidInstance(instance)) throw new InvalidRequestError(`instance must be ${ID_RULE}`);
}

/** Throws `InvalidRequestError` unless `token` looks like a token a consumer could have been given. */
export function assertRejectedToken(token: unknown): asserts token is string {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_REJECTED_TOKEN_LENGTH) {
    throw new InvalidRequestError('accessToken must be the non-empty token string Marketo rejected');
  }
}

const optionalString = (
  record: Record<string, unknown>,
  field: string,
  where: string,
): string | undefined => {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new CredentialsMisconfiguredError(`${where}: field "${field}" must be a non-empty string`);
  }
  return value;
};

/**
 * Parses and validates a credentials record `{clientId, clientSecret, identityUrl, restUrl?, instance?}`.
 * Errors name the bad field and where it came from (`where`, e.g. the secret name), never its value.
 */
export function parseCredentialsRecord(
  raw: string | unknown,
  expectedClientId: string,
  where: string,
): ClientCredentials {
  let record: unknown = raw;
  if (typeof raw === 'string') {
    try {
      record = JSON.parse(raw);
    } catch {
      throw new CredentialsMisconfiguredError(`${where}: value is not valid JSON`);
    }
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new CredentialsMisconfiguredError(`${where}: value must be a JSON object`);
  }
  const fields = record as Record<string, unknown>;
  for (const field of ['clientId', 'clientSecret', 'identityUrl'] as const) {
    if (typeof fields[field] !== 'string' || (fields[field] as string).length === 0) {
      throw new CredentialsMisconfiguredError(
        `${where}: field "${field}" is missing or not a non-empty string`,
      );
    }
  }
  const clientId = fields.clientId as string;
  if (clientId !== expectedClientId) {
    throw new CredentialsMisconfiguredError(
      `${where}: field "clientId" does not match the client id it is registered under`,
    );
  }
  const identityUrl = fields.identityUrl as string;
  if (!URL.canParse(identityUrl)) {
    throw new CredentialsMisconfiguredError(`${where}: field "identityUrl" is not a valid URL`);
  }
  const restUrl = optionalString(fields, 'restUrl', where);
  if (restUrl !== undefined && !URL.canParse(restUrl)) {
    throw new CredentialsMisconfiguredError(`${where}: field "restUrl" is not a valid URL`);
  }
  const instance = optionalString(fields, 'instance', where);
  if (instance !== undefined && !INSTANCE_PATTERN.test(instance)) {
    throw new CredentialsMisconfiguredError(
      `${where}: field "instance" must use the characters A-Z, a-z, 0-9, ".", "_", "-"`,
    );
  }
  return {
    clientId,
    clientSecret: fields.clientSecret as string,
    identityUrl: identityUrl.replace(/\/+$/, ''),
    ...(restUrl === undefined ? {} : { restUrl: restUrl.replace(/\/+$/, '') }),
    ...(instance === undefined ? {} : { instance }),
  };
}

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
