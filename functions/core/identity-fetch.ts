/** One refresh's conversation with Marketo Identity: retries with backoff, secret re-read, not-yet-rotated answers. */
import { type Engine, jitter, readCredentials } from './engine.js';
import {
  CredentialsRejectedError,
  IdentityUnavailableError,
  isTokenVendorError,
  TokenRotatingError,
} from './errors.js';
import { fingerprint } from './fingerprint.js';
import type { ClientCredentials, StoredToken } from './ports.js';

/** Identity attempts per refresh, for retryable failures. */
const MAX_IDENTITY_ATTEMPTS = 4;
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;
/** Shortest wait before asking again for a token Identity has not yet rotated. */
const NOT_ROTATED_RETRY_MIN_MS = 500;

/**
 * Calls Identity (under the lease, or degraded without it) until it yields a token that is really
 * new: retries retryable failures with jittered exponential backoff inside `deadline`, re-reads the
 * secret once on rejection (rotation), and waits out answers that are not yet rotated.
 */
export async function fetchFromIdentity(
  engine: Engine,
  clientId: string,
  deadline: number,
  prefetched?: Promise<ClientCredentials>,
): Promise<StoredToken> {
  const { clock, config, logger, metrics, identity } = engine;
  let credentials = await (prefetched ?? readCredentials(engine, clientId, false));
  let rereadSecret = false;
  let failures = 0;
  for (;;) {
    const sentAt = clock.now();
    const timeoutMs = Math.min(config.identityTimeoutMs, deadline - sentAt);
    if (timeoutMs <= 0) {
      throw new IdentityUnavailableError(
        `no token from Identity for client "${clientId}" within the wait budget`,
        { retryAfterSeconds: 1 },
      );
    }
    try {
      metrics.record('IdentityCalls', 1, 'Count');
      const answer = await identity.fetchToken(credentials, { timeoutMs });
      const receivedAt = clock.now();
      metrics.record('IdentityLatencyMs', receivedAt - sentAt, 'Milliseconds');
      if (answer.expiresInSeconds <= config.rotationGuardSeconds) {
        // Marketo hands out the dying token until the very instant it expires: never cache it.
        const waitMs = Math.max(
          NOT_ROTATED_RETRY_MIN_MS,
          answer.expiresInSeconds * 1000 + config.expirySlackMs,
        );
        logger.info('Identity returned a token at its expiry instant; asking again', {
          clientId,
          token: fingerprint(answer.accessToken),
          expiresIn: answer.expiresInSeconds,
          waitMs,
        });
        if (clock.now() + waitMs >= deadline) {
          throw new TokenRotatingError(`the token of client "${clientId}" is rotating; retry shortly`, {
            retryAfterSeconds: Math.ceil(waitMs / 1000),
          });
        }
        await clock.sleep(waitMs);
        continue;
      }
      const token: StoredToken = {
        accessToken: answer.accessToken,
        tokenType: answer.tokenType,
        ...(answer.scope === undefined ? {} : { scope: answer.scope }),
        expiresAt: sentAt + answer.expiresInSeconds * 1000,
        obtainedAt: receivedAt,
      };
      logger.info('fetched token from Identity', {
        clientId,
        token: fingerprint(token.accessToken),
        expiresIn: answer.expiresInSeconds,
        latencyMs: receivedAt - sentAt,
      });
      return token;
    } catch (error) {
      if (error instanceof TokenRotatingError) throw error;
      metrics.record('IdentityErrors', 1, 'Count');
      if (error instanceof CredentialsRejectedError) {
        if (!rereadSecret) {
          rereadSecret = true;
          logger.warn('Identity rejected the credentials; re-reading the secret once', { clientId });
          credentials = await readCredentials(engine, clientId, true);
          continue;
        }
        metrics.record('CredentialsRejected', 1, 'Count');
        logger.error('Identity rejected the credentials', { clientId, code: error.code });
        throw error;
      }
      const typed = isTokenVendorError(error)
        ? error
        : new IdentityUnavailableError(`Identity call failed for client "${clientId}"`, { cause: error });
      failures += 1;
      const backoffMs = Math.max(
        (typed.retryAfterSeconds ?? 0) * 1000,
        jitter(engine, Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (failures - 1))),
      );
      logger.warn('Identity call failed', {
        clientId,
        code: typed.code,
        attempt: failures,
        reason: typed.message,
      });
      if (failures >= MAX_IDENTITY_ATTEMPTS || clock.now() + backoffMs >= deadline) {
        // Every 503 tells the caller when to come back, also when Identity itself gave no hint.
        if (typed instanceof IdentityUnavailableError && typed.retryAfterSeconds === undefined) {
          throw new IdentityUnavailableError(typed.message, {
            cause: typed,
            retryAfterSeconds: Math.max(1, Math.ceil(backoffMs / 1000)),
          });
        }
        throw typed;
      }
      await clock.sleep(backoffMs);
    }
  }
}
