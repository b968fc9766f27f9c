/** A credentials record as registered (Secrets Manager value, local file entry), parsed and checked. */
import { INSTANCE_PATTERN } from '../contract/index.js';
import { CredentialsMisconfiguredError } from './errors.js';
import type { ClientCredentials } from './ports.js';

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
