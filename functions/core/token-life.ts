/**
 * The life of a token as the engine judges it: live, usable for a caller, still unexpired, and when its
 * successor can be had. Marketo issues a client's next token only once the current one has expired.
 */

import { retryAfterSecondsFor, TokenRotatingError } from './errors.js';
import type { StoredToken } from './ports.js';
import type { VendorState } from './vendor-state.js';

export const remainingMs = (state: VendorState, token: StoredToken): number =>
  token.expiresAt - state.clock.now();

/** More than the rotation guard left: safe to hand out at all. */
export const isLive = (state: VendorState, token: StoredToken): boolean =>
  remainingMs(state, token) > state.config.rotationGuardSeconds * 1000;

/** Marketo still holds this token: asking Identity before it expires only returns it again. */
export const isUnexpired = (state: VendorState, token: StoredToken): boolean => remainingMs(state, token) > 0;

/** Live and with at least `minValidityMs` left. */
export const isUsable = (state: VendorState, token: StoredToken, minValidityMs: number): boolean =>
  isLive(state, token) && remainingMs(state, token) >= minValidityMs;

/**
 * When to ask Identity for the successor of `token`: `expirySlackMs` after the latest instant it can expire.
 * `expiresAt` is reckoned from when the request was sent; Identity read its clock up to the answer's round
 * trip later, so the token may live that much longer (bounded by the Identity timeout). Asking earlier would
 * only get the old token back and cost a second call.
 */
export function successorDueAt(state: VendorState, token: StoredToken): number {
  const { expirySlackMs, identityTimeoutMs } = state.config;
  const roundTripMs = token.obtainedAt - (token.requestedAt ?? token.obtainedAt);
  return token.expiresAt + Math.min(identityTimeoutMs, Math.max(0, roundTripMs)) + expirySlackMs;
}

/**
 * A token (the soonest-expiring one, for a pool) is valid but too short for the caller, and Marketo issues
 * the next one only at expiry: sleeps until its successor is due if that fits before `deadline`, else
 * throws `TokenRotatingError` with the seconds until then (never hands out a token that dies in flight).
 *
 * The caller is one of possibly thousands of Lambdas waiting on this rotation, all reading one item (one
 * DynamoDB partition: 3,000 read units a second). It wakes at a random point of the `rotationSpreadMs`
 * after the due instant, so the waiters' reads arrive spread out and the refresher, at work from the due
 * instant itself, reads and takes the lease before them.
 */
export async function waitForSuccessor(
  state: VendorState,
  token: StoredToken,
  deadline: number,
  rotatingMessage: () => string,
): Promise<void> {
  const { clock, metrics } = state;
  const dueAt = successorDueAt(state, token);
  if (dueAt >= deadline) {
    metrics.record('TokenRotating', 1, 'Count');
    throw new TokenRotatingError(rotatingMessage(), {
      retryAfterSeconds: retryAfterSecondsFor(dueAt - clock.now()),
    });
  }
  const wakeAt = dueAt + Math.floor(state.random() * state.config.rotationSpreadMs);
  await clock.sleep(Math.max(dueAt, Math.min(wakeAt, deadline - 1)) - clock.now());
}
