/** One refresh's conversation with Marketo Identity: retries with backoff, secret re-read, not-yet-rotated answers. */

import {
  CredentialsRejectedError,
  IdentityUnavailableError,
  isTokenVendorError,
  retryAfterSecondsFor,
  TokenRotatingError,
} from './errors.js';
import { fingerprint } from './fingerprint.js';
import { assertIdentityUrlAllowed } from './identity-url-policy.js';
import { jitter } from './jitter.js';
import type { ClientCredentials, StoredToken } from './ports.js';
import type { VendorState } from './vendor-state.js';

/** Identity attempts per refresh, for retryable failures. */
const MAX_IDENTITY_ATTEMPTS = 4;
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;
/** First re-ask after Identity still said `expires_in: 0` past the expiry; doubles per answer, jittered. */
const ROTATION_RETRY_BASE_MS = 250;
const ROTATION_RETRY_CAP_MS = 1_000;
/** Spread of the first re-ask after a not-yet-rotated answer, so instances do not re-ask in step. */
const ROTATION_RETRY_SPREAD_MS = 250;

/**
 * How long to wait before asking again after Identity handed out a token with `expiresInSeconds` left.
 * `expires_in` is whole seconds rounded down, so the token dies less than `expiresInSeconds + 1` s after
 * the answer: the first re-ask waits that long (plus a jittered spread), which makes a clock that ran
 * ahead cost exactly one extra call. Later answers (Identity still says 0 at or past the expiry) re-ask on
 * a short doubling schedule instead of a fixed slack.
 */
export function notRotatedRetryMs(
  expiresInSeconds: number,
  notRotatedAnswers: number,
  random: () => number,
): number {
  if (notRotatedAnswers <= 1)
    return (expiresInSeconds + 1) * 1000 + Math.round(random() * ROTATION_RETRY_SPREAD_MS);
  const stepMs = Math.min(ROTATION_RETRY_CAP_MS, ROTATION_RETRY_BASE_MS * 2 ** (notRotatedAnswers - 2));
  return expiresInSeconds * 1000 + jitter(stepMs, random);
}

/** The client's credentials, refused when their Identity URL is not on the allowlist. */
export async function readCredentials(
  state: VendorState,
  clientId: string,
  bypassCache: boolean,
): Promise<ClientCredentials> {
  const credentials = await state.credentials.get(clientId, { bypassCache });
  assertIdentityUrlAllowed(
    credentials.identityUrl,
    state.config.identityUrlPolicy,
    `credentials of client "${clientId}"`,
  );
  return credentials;
}

/**
 * Calls Identity (under the lease, or degraded without it) until it yields a token that is really
 * new: retries retryable failures with jittered exponential backoff inside `deadline`, re-reads the
 * secret once on rejection (rotation), and waits out answers that are not yet rotated.
 */
export async function fetchFromIdentity(
  state: VendorState,
  clientId: string,
  deadline: number,
  prefetched?: Promise<ClientCredentials>,
): Promise<StoredToken> {
  try {
    return await askIdentity(state, clientId, deadline, prefetched);
  } finally {
    state.rotationRetryAt.delete(clientId);
  }
}

/** TokenRotating for a caller whose budget ends before Identity is asked again (at `retryAt`, epoch ms). */
function rotatingAt(state: VendorState, clientId: string, retryAt: number): TokenRotatingError {
  return new TokenRotatingError(`the token of client "${clientId}" is rotating; retry shortly`, {
    retryAfterSeconds: retryAfterSecondsFor(retryAt - state.clock.now()),
  });
}

/** TokenRotating when a refresh here is waiting out a token not yet rotated; otherwise undefined. */
export function rotatingError(state: VendorState, clientId: string): TokenRotatingError | undefined {
  const retryAt = state.rotationRetryAt.get(clientId);
  return retryAt === undefined ? undefined : rotatingAt(state, clientId, retryAt);
}

async function askIdentity(
  state: VendorState,
  clientId: string,
  deadline: number,
  prefetched?: Promise<ClientCredentials>,
): Promise<StoredToken> {
  const { clock, config, logger, metrics, identity } = state;
  let credentials = await (prefetched ?? readCredentials(state, clientId, false));
  let rereadSecret = false;
  let failures = 0;
  let notRotatedAnswers = 0;
  for (;;) {
    const sentAt = clock.now();
    const timeoutMs = Math.min(config.identityTimeoutMs, deadline - sentAt);
    if (timeoutMs <= 0) {
      // The budget ran out waiting for the rotated token (a late timer on a busy machine): say so.
      throw (
        rotatingError(state, clientId) ??
        new IdentityUnavailableError(
          `no token from Identity for client "${clientId}" within the wait budget`,
          { retryAfterSeconds: 1 },
        )
      );
    }
    try {
      metrics.record('IdentityCalls', 1, 'Count');
      const answer = await identity.fetchToken(credentials, { timeoutMs });
      const receivedAt = clock.now();
      metrics.record('IdentityLatencyMs', receivedAt - sentAt, 'Milliseconds');
      if (answer.expiresInSeconds <= config.rotationGuardSeconds) {
        // Marketo hands out the dying token until the very instant it expires: never cache it.
        notRotatedAnswers += 1;
        const waitMs = notRotatedRetryMs(answer.expiresInSeconds, notRotatedAnswers, state.random);
        logger.info('Identity returned a token at its expiry instant; asking again', {
          clientId,
          token: fingerprint(answer.accessToken),
          expiresIn: answer.expiresInSeconds,
          waitMs,
        });
        const retryAt = clock.now() + waitMs;
        state.rotationRetryAt.set(clientId, retryAt);
        if (retryAt >= deadline) throw rotatingAt(state, clientId, retryAt);
        await clock.sleep(waitMs);
        continue;
      }
      const token: StoredToken = {
        accessToken: answer.accessToken,
        tokenType: answer.tokenType,
        ...(answer.scope === undefined ? {} : { scope: answer.scope }),
        expiresAt: sentAt + answer.expiresInSeconds * 1000,
        obtainedAt: receivedAt,
        requestedAt: sentAt,
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
          credentials = await readCredentials(state, clientId, true);
          continue;
        }
        metrics.record('CredentialsRejected', 1, 'Count');
        logger.error('Identity rejected the credentials', { clientId, code: error.code });
        throw error;
      }
      const typed = isTokenVendorError(error)
        ? error
        : new IdentityUnavailableError(`Identity call failed for client "${clientId}"`, { cause: error });
      // A re-ask cut short by the budget while the token rotates: the rotation, not Identity, ran it out.
      const cutByDeadline = timeoutMs < config.identityTimeoutMs && clock.now() >= deadline;
      const rotating = cutByDeadline ? rotatingError(state, clientId) : undefined;
      if (rotating) throw rotating;
      failures += 1;
      const backoffMs = Math.max(
        (typed.retryAfterSeconds ?? 0) * 1000,
        jitter(Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (failures - 1)), state.random),
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
            retryAfterSeconds: retryAfterSecondsFor(backoffMs),
          });
        }
        throw typed;
      }
      await clock.sleep(backoffMs);
    }
  }
}
