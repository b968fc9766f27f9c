/**
 * The client library's defaults, in one place. The library is standalone (it imports none of the
 * vendor's runtime), so the vendor's default `minValidity` is mirrored here; a spec test
 * (test/unit/client/token-client.test.ts) fails if the two ever differ.
 */

/**
 * `getToken` / `getInstanceToken`: seconds of validity a token must have left, the same as the API's,
 * the direct invoke's and `tokenTask`'s default (the vendor's `DEFAULT_MIN_VALIDITY_SECONDS`).
 */
export const DEFAULT_MIN_VALIDITY_SECONDS = 20;

/**
 * `marketoFetch` / `withToken` / `withInstanceToken`: seconds of validity that cover ONE request. Marketo
 * checks the token when the request arrives (well under a second after it leaves; the vendor's whole-second
 * `expiresIn`, rounded down, adds up to a second more), and a 601/602 is recovered from by invalidating and
 * retrying once. A token is thus used until its last second, and a consumer waits for the successor only
 * from then until the vendor has it (about a second plus the expiry gap), instead of failing or waiting for
 * most of a minute.
 */
export const REQUEST_MIN_VALIDITY_SECONDS = 1;

/**
 * How long past `minValidity` a rotation can take: the vendor asks Marketo for the successor shortly after
 * the expiry (its expiry slack, a few seconds) and Identity answers within its timeout and retries. A
 * `Retry-After` inside `minValidity` + this is the rotation window, and the library waits it out.
 */
export const ROTATION_ALLOWANCE_MS = 30_000;

/**
 * The default wait budget of one call asking for `minValiditySeconds`: the rotation window, so that a
 * `503 TokenRotating` (or a short `IdentityUnavailable`) is waited out rather than thrown. A token with
 * less than `minValidity` left dies within `minValidity` seconds, and its successor follows within the
 * allowance.
 */
export const defaultRetryBudgetMs = (minValiditySeconds: number): number =>
  minValiditySeconds * 1000 + ROTATION_ALLOWANCE_MS;

/** Wait after a 503/429 that named no `Retry-After`. */
export const RETRY_WITHOUT_RETRY_AFTER_MS = 1_000;
