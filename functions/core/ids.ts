/** The ids a request names (a client id, an instance), checked against the contract's pattern. */
import { ID_RULE, isValidClientId, isValidInstance } from '../contract/index.js';
import { InvalidRequestError } from './errors.js';

/** Throws `InvalidRequestError` unless `clientId` matches the contract's id pattern. */
export function assertValidClientId(clientId: unknown): asserts clientId is string {
  if (!isValidClientId(clientId)) throw new InvalidRequestError(`clientId must be ${ID_RULE}`);
}

/** Throws `InvalidRequestError` unless `instance` is a valid instance name. */
export function assertValidInstance(instance: unknown): asserts instance is string {
  if (!isValidInstance(instance)) throw new InvalidRequestError(`instance must be ${ID_RULE}`);
}
