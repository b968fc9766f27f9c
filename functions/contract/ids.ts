/**
 * Client ids and instance names appear in secret names, table keys, API paths and IAM resource ARNs, so
 * both are kept to one safe alphabet. The standalone client (client/) keeps its own copy, compared with
 * this one by test/unit/client/token-client.test.ts.
 */
export const CLIENT_ID_PATTERN_SOURCE = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';
export const CLIENT_ID_PATTERN = new RegExp(CLIENT_ID_PATTERN_SOURCE);

/** Instance names (Munchkin ids or labels) share the client id alphabet. */
export const INSTANCE_PATTERN = CLIENT_ID_PATTERN;

export const MAX_ID_LENGTH = 128;

/** What a valid id looks like, for error messages. */
export const ID_RULE = '1-128 characters of A-Z, a-z, 0-9, ".", "_" or "-", starting with a letter or digit';

export const isValidClientId = (value: unknown): value is string =>
  typeof value === 'string' && CLIENT_ID_PATTERN.test(value);

export const isValidInstance = (value: unknown): value is string =>
  typeof value === 'string' && INSTANCE_PATTERN.test(value);
