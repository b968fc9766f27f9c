import { describe, expect, it } from 'vitest';
import { classify, clientView, formatDuration } from '../../../cli/client-view.js';
import { fingerprint } from '../../../functions/core/fingerprint.js';
import type { TokenRecord } from '../../../functions/core/ports.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const record = (fields: Partial<TokenRecord> = {}): TokenRecord => ({ clientId: 'c', version: 1, ...fields });
const token = (expiresInMs: number) => ({
  accessToken: 'secret-token-value:ab',
  tokenType: 'bearer',
  expiresAt: NOW + expiresInMs,
  obtainedAt: NOW - 60_000,
});

describe('token status', () => {
  it('is missing without a record', () => {
    expect(classify(undefined, NOW)).toBe('missing');
  });

  it('is missing when the cached token has expired', () => {
    expect(classify(record({ token: token(-1) }), NOW)).toBe('missing');
  });

  it('is expiring with less than 5 minutes left', () => {
    expect(classify(record({ token: token(299_999) }), NOW)).toBe('expiring');
  });

  it('is valid with 5 minutes or more left', () => {
    expect(classify(record({ token: token(300_000) }), NOW)).toBe('valid');
  });

  it('is error when the last refresh failed, even with a valid token', () => {
    const failed = record({
      token: token(3_000_000),
      lastError: { code: 'CredentialsRejected', message: 'x', at: NOW },
    });

    expect(classify(failed, NOW)).toBe('error');
  });

  it('shows the token only as its fingerprint', () => {
    const view = clientView(
      'c',
      { identityUrl: 'https://1-2-3.mktorest.com/identity' },
      record({ token: token(60_000) }),
      NOW,
    );

    expect(JSON.stringify(view)).not.toContain('secret-token-value');
    expect(view).toMatchObject({
      tokenFingerprint: fingerprint('secret-token-value:ab'),
      identityHost: '1-2-3.mktorest.com',
      expiresInSeconds: 60,
    });
  });

  it('reports a lease past its end as lapsed', () => {
    const view = clientView(
      'c',
      undefined,
      record({ lease: { owner: 'lambda-1', leaseUntil: NOW - 1 } }),
      NOW,
    );

    expect(view.lease).toMatchObject({ state: 'lapsed', owner: 'lambda-1' });
  });

  it('formats durations for people', () => {
    expect([formatDuration(3599), formatDuration(3725), formatDuration(59), formatDuration(-190)]).toEqual([
      '59m 59s',
      '1h 02m',
      '59s',
      'expired 3m 10s ago',
    ]);
  });
});
