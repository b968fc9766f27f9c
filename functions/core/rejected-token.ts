import { MAX_REJECTED_TOKEN_LENGTH } from '../contract/index.js';
import { InvalidRequestError } from './errors.js';

/** Throws `InvalidRequestError` unless `token` looks like a token a consumer could have been given. */
export function assertRejectedToken(token: unknown): asserts token is string {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_REJECTED_TOKEN_LENGTH) {
    throw new InvalidRequestError('accessToken must be the non-empty token string Marketo rejected');
  }
}
