import { describe, expect, it } from 'vitest';
import { rejectedCredentialsBackoff } from '../../../../functions/core/credentials-backoff.js';

const MINUTE = 60_000;
const rejectedAt = 1_000_000;
const rejected = {
  code: 'CredentialsRejected',
  message: 'Identity refused the client id/secret',
  at: rejectedAt,
};

describe('rejectedCredentialsBackoff', () => {
  it('backs off a client Identity rejected, until the cooldown after the rejection', () => {
    expect(
      rejectedCredentialsBackoff({ lastError: rejected, now: rejectedAt + MINUTE, cooldownMs: 15 * MINUTE }),
    ).toEqual({ until: rejectedAt + 15 * MINUTE });
  });

  it('lets the client be tried again once the cooldown has passed', () => {
    expect(
      rejectedCredentialsBackoff({
        lastError: rejected,
        now: rejectedAt + 15 * MINUTE,
        cooldownMs: 15 * MINUTE,
      }),
    ).toBeUndefined();
  });

  it('lets the client be tried again at once when its secret changed after the rejection', () => {
    expect(
      rejectedCredentialsBackoff({
        lastError: rejected,
        secretChangedAt: rejectedAt + 1,
        now: rejectedAt + MINUTE,
        cooldownMs: 15 * MINUTE,
      }),
    ).toBeUndefined();
  });

  it('keeps backing off when the secret last changed before the rejection', () => {
    expect(
      rejectedCredentialsBackoff({
        lastError: rejected,
        secretChangedAt: rejectedAt - 1,
        now: rejectedAt + MINUTE,
        cooldownMs: 15 * MINUTE,
      }),
    ).toEqual({ until: rejectedAt + 15 * MINUTE });
  });

  it.each(['IdentityUnavailable', 'CredentialsMisconfigured', 'StoreUnavailable'])(
    'never backs off for %s, which a retry may cure',
    (code) => {
      expect(
        rejectedCredentialsBackoff({
          lastError: { ...rejected, code },
          now: rejectedAt + 1,
          cooldownMs: 15 * MINUTE,
        }),
      ).toBeUndefined();
    },
  );

  it('never backs off a client without a last error', () => {
    expect(rejectedCredentialsBackoff({ now: rejectedAt, cooldownMs: 15 * MINUTE })).toBeUndefined();
  });
});
