import { describe, expect, it } from 'vitest';
import {
  CredentialsMisconfiguredError,
  CredentialsRejectedError,
  IdentityUnavailableError,
  InvalidRequestError,
  TokenRotatingError,
  UnknownClientError,
} from '../../../../functions/core/errors.js';
import type { TokenVendorConfig } from '../../../../functions/core/index.js';
import { DEFAULT_TOKEN_VENDOR_CONFIG } from '../../../../functions/core/vendor-config.js';
import { createMemoryVendor } from '../../../../testing/memory-vendor.js';

const LIFESPAN_S = 3600;

/** The in-memory vendor with `LIFESPAN_S` tokens (testing/memory-vendor.ts). */
const world = (options: { clients?: string[]; config?: Partial<TokenVendorConfig> } = {}) =>
  createMemoryVendor({ ...options, lifespanSeconds: LIFESPAN_S });

describe('TokenVendor.getToken', () => {
  it('fetches a token from Identity on the first request and stores it', async () => {
    const w = world();
    const token = await w.clock.settle(w.vendor().getToken('client-a'));
    expect(token.source).toBe('identity');
    expect(w.identity.callCount('client-a')).toBe(1);
    expect(w.store.items.get('client-a')?.token?.accessToken).toBe(token.accessToken);
    expect(w.store.items.get('client-a')?.lease).toBeUndefined();
  });

  it('reports expiresAt and expiresIn truthfully', async () => {
    const w = world();
    const start = w.clock.now();
    const token = await w.clock.settle(w.vendor().getToken('client-a'));
    expect(token.expiresAt).toBe(start + (LIFESPAN_S - 0) * 1000);
    expect(token.expiresInSeconds).toBe(LIFESPAN_S);
    await w.clock.advance(100_500);
    const later = await w.clock.settle(w.vendor().getToken('client-a'));
    expect(later.expiresInSeconds).toBe(LIFESPAN_S - 101);
  });

  it('serves a repeated request from memory without reading the store', async () => {
    const w = world();
    const vendor = w.vendor();
    await w.clock.settle(vendor.getToken('client-a'));
    const reads = w.store.calls.get;
    const again = await w.clock.settle(vendor.getToken('client-a'));
    expect(again.source).toBe('memory');
    expect(w.store.calls.get).toBe(reads);
  });

  it('serves a fresh instance from the store without calling Identity', async () => {
    const w = world();
    await w.clock.settle(w.vendor().getToken('client-a'));
    const token = await w.clock.settle(w.vendor().getToken('client-a'));
    expect(token.source).toBe('store');
    expect(w.identity.callCount()).toBe(1);
  });

  it('shares one Identity call among 100 concurrent requests in one instance', async () => {
    const w = world();
    const vendor = w.vendor();
    const tokens = await w.clock.settle(
      Promise.all(Array.from({ length: 100 }, () => vendor.getToken('client-a'))),
    );
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    expect(w.identity.callCount()).toBe(1);
  });

  it('makes exactly one Identity call for 200 requests over 8 instances on an expired token', async () => {
    const w = world();
    w.identity.latencyMs = 150;
    await w.clock.settle(w.vendor().getToken('client-a'));
    await w.clock.advance(LIFESPAN_S * 1000 + 1);
    const vendors = Array.from({ length: 8 }, () => w.vendor());
    const tokens = await w.clock.settle(
      Promise.all(Array.from({ length: 200 }, (_, i) => vendors[i % 8].getToken('client-a'))),
    );
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    expect(w.identity.callCount()).toBe(2);
    expect(tokens.every((t) => t.expiresInSeconds >= 20)).toBe(true);
  });

  it('waits out the expiry and returns the next token when the budget allows', async () => {
    const w = world();
    const first = await w.clock.settle(w.vendor().getToken('client-a'));
    await w.clock.advance((LIFESPAN_S - 10) * 1000);
    const start = w.clock.now();
    const next = await w.clock.settle(
      w.vendor().getToken('client-a', { minValiditySeconds: 60, maxWaitMs: 20_000 }),
    );
    expect(next.accessToken).not.toBe(first.accessToken);
    expect(next.expiresInSeconds).toBeGreaterThanOrEqual(60);
    expect(w.clock.now() - start).toBeGreaterThanOrEqual(10_000);
    expect(w.identity.callCount()).toBe(2);
  });

  it('fails with TokenRotating and a Retry-After when the wait does not fit the budget', async () => {
    const w = world();
    await w.clock.settle(w.vendor().getToken('client-a'));
    await w.clock.advance((LIFESPAN_S - 30) * 1000);
    const attempt = w.clock.settle(
      w.vendor().getToken('client-a', { minValiditySeconds: 60, maxWaitMs: 5_000 }),
    );
    await expect(attempt).rejects.toBeInstanceOf(TokenRotatingError);
    // 30 s to the expiry, plus the slack after it before the successor is asked for.
    const retryAfterSeconds = Math.ceil((30_000 + DEFAULT_TOKEN_VENDOR_CONFIG.expirySlackMs) / 1000);
    await expect(attempt).rejects.toMatchObject({ code: 'TokenRotating', retryAfterSeconds });
    expect(w.identity.callCount()).toBe(1);
  });

  it('waits for the expiry of a token inside the rotation guard instead of asking Identity early', async () => {
    const w = world();
    const first = await w.clock.settle(w.vendor().getToken('client-a'));
    await w.clock.advance((LIFESPAN_S - 2) * 1000);
    const next = await w.clock.settle(w.vendor().getToken('client-a', { minValiditySeconds: 0 }));
    expect(next.accessToken).not.toBe(first.accessToken);
    expect(w.clock.now()).toBeGreaterThanOrEqual(first.expiresAt);
    expect(w.identity.callCount()).toBe(2);
  });

  it('never caches a token Identity returns at its expiry instant, and asks again', async () => {
    const w = world();
    w.identity.fail({ expiresIn: 0 });
    const token = await w.clock.settle(w.vendor().getToken('client-a'));
    expect(token.expiresInSeconds).toBeGreaterThan(3000);
    expect(w.identity.callCount()).toBe(2);
  });

  it('answers TokenRotating when the budget runs out on a slow re-ask after a not-yet-rotated answer', async () => {
    const w = world();
    w.identity.fail({ expiresIn: 0 }, 'timeout', 'timeout');
    const started = w.clock.now();
    const error = await w.clock.settle(
      w
        .vendor({ identityTimeoutMs: 5_000 })
        .getToken('client-a', { maxWaitMs: 2_000 })
        .catch((e: unknown) => e),
    );
    expect(error).toBeInstanceOf(TokenRotatingError);
    expect((error as TokenRotatingError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(w.clock.now() - started).toBe(2_000);
    expect(w.identity.callCount()).toBe(2);
  });

  it('answers TokenRotating when the refresh budget ends a re-ask after a not-yet-rotated answer', async () => {
    // The lease (3 s) bounds the refresh: the re-ask at ~1.1 s gets the 1.9 s left, and Identity takes it all.
    const w = world({ config: { identityTimeoutMs: 60_000, leaseDurationMs: 3_000 } });
    w.identity.fail({ expiresIn: 0 }, 'timeout', 'timeout');
    const error = await w.clock.settle(
      w
        .vendor()
        .getToken('client-a', { maxWaitMs: 5_000 })
        .catch((e: unknown) => e),
    );
    expect(error).toBeInstanceOf(TokenRotatingError);
    expect(w.identity.callCount()).toBe(2);
  });

  it('still answers IdentityUnavailable when Identity fails outright after a not-yet-rotated answer', async () => {
    const w = world();
    w.identity.fail({ expiresIn: 0 }, 'unavailable', 'unavailable', 'unavailable', 'unavailable');
    const error = await w.clock.settle(
      w
        .vendor()
        .getToken('client-a', { maxWaitMs: 20_000 })
        .catch((e: unknown) => e),
    );
    expect(error).toBeInstanceOf(IdentityUnavailableError);
    expect(w.identity.callCount()).toBe(5);
  });

  it('takes over the refresh after the lease of a crashed holder lapses, with one Identity call', async () => {
    const w = world({ config: { leaseDurationMs: 10_000 } });
    const crashedUntil = w.clock.now() + 10_000;
    w.store.items.set('client-a', {
      clientId: 'client-a',
      version: 1,
      lease: { owner: 'crashed', leaseUntil: crashedUntil },
    });
    const token = await w.clock.settle(w.vendor().getToken('client-a', { maxWaitMs: 20_000 }));
    expect(token.source).toBe('identity');
    expect(w.clock.now()).toBeGreaterThanOrEqual(crashedUntil);
    expect(w.identity.callCount()).toBe(1);
  });

  it('retries a failing Identity with backoff inside the budget', async () => {
    const w = world();
    w.identity.fail('unavailable', 'bad-response');
    const token = await w.clock.settle(w.vendor().getToken('client-a'));
    expect(token.source).toBe('identity');
    expect(w.identity.callCount()).toBe(3);
  });

  it('fails with IdentityUnavailable after bounded retries and records the last error', async () => {
    const w = world();
    w.identity.fail('unavailable', 'unavailable', 'unavailable', 'unavailable', 'unavailable');
    const attempt = w.clock.settle(w.vendor().getToken('client-a'));
    await expect(attempt).rejects.toBeInstanceOf(IdentityUnavailableError);
    expect(w.identity.callCount()).toBe(4);
    expect(w.store.items.get('client-a')?.lastError?.code).toBe('IdentityUnavailable');
    expect(w.store.items.get('client-a')?.lease).toBeUndefined();
  });

  it('keeps serving a still-valid cached token while Identity is down', async () => {
    const w = world();
    await w.clock.settle(w.vendor().getToken('client-a'));
    w.identity.fail('unavailable', 'unavailable', 'unavailable', 'unavailable');
    await w.clock.advance(1_000_000);
    const token = await w.clock.settle(w.vendor().getToken('client-a'));
    expect(token.source).toBe('store');
    expect(w.identity.callCount()).toBe(1);
  });

  it('keeps the cached token when a refresh fails', async () => {
    const w = world();
    const first = await w.clock.settle(w.vendor().getToken('client-a'));
    await w.clock.advance((LIFESPAN_S + 1) * 1000);
    w.identity.fail('unavailable', 'unavailable', 'unavailable', 'unavailable');
    await expect(w.clock.settle(w.vendor().getToken('client-a'))).rejects.toBeInstanceOf(
      IdentityUnavailableError,
    );
    expect(w.store.items.get('client-a')?.token?.accessToken).toBe(first.accessToken);
  });

  it('re-reads the secret once, bypassing the cache, when Identity rejects the credentials', async () => {
    const w = world();
    w.identity.setSecret('client-a', 'rotated-secret');
    w.credentials.put({ ...w.records[0], clientSecret: 'rotated-secret' });
    w.identity.fail('rejected');
    const token = await w.clock.settle(w.vendor().getToken('client-a'));
    expect(token.source).toBe('identity');
    expect(w.credentials.reads).toEqual([
      { clientId: 'client-a', bypassCache: false },
      { clientId: 'client-a', bypassCache: true },
    ]);
  });

  it('fails with CredentialsRejected when the re-read secret is rejected too', async () => {
    const w = world();
    w.identity.setSecret('client-a', 'secret-nobody-has');
    const attempt = w.clock.settle(w.vendor().getToken('client-a'));
    await expect(attempt).rejects.toBeInstanceOf(CredentialsRejectedError);
    expect(w.identity.callCount()).toBe(2);
    expect(w.credentials.reads.filter((r) => r.bypassCache)).toHaveLength(1);
  });

  it('fails with UnknownClient for a client with no credentials', async () => {
    const w = world();
    await expect(w.clock.settle(w.vendor().getToken('nobody'))).rejects.toBeInstanceOf(UnknownClientError);
    expect(w.identity.callCount()).toBe(0);
  });

  it('writes nothing to the store for a client id that is not registered', async () => {
    const w = world();
    await expect(w.clock.settle(w.vendor().getToken('nobody'))).rejects.toBeInstanceOf(UnknownClientError);
    await expect(w.clock.settle(w.vendor().invalidate('nobody', 'some-token:ab'))).rejects.toBeInstanceOf(
      UnknownClientError,
    );
    expect(w.store.calls.acquireLease).toBe(0);
    expect(w.store.calls.completeLease).toBe(0);
    expect([...w.store.items.keys()]).toEqual([]);
  });

  it.each([
    ['not https', 'http://123-ABC-456.mktorest.com/identity'],
    ['off the allowlist', 'https://attacker.example.com/identity'],
    ['a look-alike host', 'https://mktorest.com.attacker.example/identity'],
  ])('refuses an identityUrl that is %s without sending the secret', async (_label, identityUrl) => {
    const w = world();
    w.credentials.put({ ...w.records[0], identityUrl });
    await expect(w.clock.settle(w.vendor().getToken('client-a'))).rejects.toBeInstanceOf(
      CredentialsMisconfiguredError,
    );
    expect(w.identity.callCount()).toBe(0);
  });

  it.each([['../etc/passwd'], [''], ['a b'], ['x'.repeat(129)], ['ü-client']])(
    'rejects the malformed client id %j with InvalidRequest',
    async (clientId) => {
      const w = world();
      await expect(w.vendor().getToken(clientId)).rejects.toBeInstanceOf(InvalidRequestError);
    },
  );

  it.each([[-1], [1.5], [3601], [Number.NaN]])(
    'rejects minValidity %s with InvalidRequest',
    async (minValiditySeconds) => {
      const w = world();
      await expect(w.vendor().getToken('client-a', { minValiditySeconds })).rejects.toBeInstanceOf(
        InvalidRequestError,
      );
    },
  );

  it('fetches directly from Identity when the store is unreachable', async () => {
    const w = world();
    w.store.down = true;
    const token = await w.clock.settle(w.vendor().getToken('client-a'));
    expect(token.source).toBe('identity');
    expect(w.identity.callCount()).toBe(1);
  });

  it('serves its in-memory token while the store is unreachable', async () => {
    const w = world();
    const vendor = w.vendor();
    await w.clock.settle(vendor.getToken('client-a'));
    w.store.down = true;
    const token = await w.clock.settle(vendor.getToken('client-a'));
    expect(token.source).toBe('memory');
  });

  it('logs token fingerprints, never a token or a secret', async () => {
    const w = world();
    const token = await w.clock.settle(w.vendor().getToken('client-a'));
    w.identity.setSecret('client-a', 'other');
    await w.clock.advance((LIFESPAN_S + 1) * 1000);
    await w.clock.settle(w.vendor().getToken('client-a')).catch(() => undefined);
    const logs = w.logLines.join('\n');
    expect(logs).toContain('fetched token from Identity');
    expect(logs).not.toContain(token.accessToken);
    expect(logs).not.toContain(w.records[0].clientSecret);
  });
});

describe('TokenVendor.invalidate', () => {
  it('replaces a rejected token once for 50 concurrent reports', async () => {
    const w = world();
    const first = await w.clock.settle(w.vendor().getToken('client-a'));
    await w.clock.advance(60_000);
    w.identity.revoke('client-a');
    const vendors = Array.from({ length: 5 }, () => w.vendor());
    const results = await w.clock.settle(
      Promise.all(
        Array.from({ length: 50 }, (_, i) => vendors[i % 5].invalidate('client-a', first.accessToken)),
      ),
    );
    expect(w.identity.callCount()).toBe(2);
    expect(new Set(results.map((r) => r.accessToken))).toEqual(
      new Set([w.identity.current('client-a')?.accessToken]),
    );
    expect(results[0].accessToken).not.toBe(first.accessToken);
  });

  it('asks Identity once for 50 concurrent reports of a token Identity still considers valid', async () => {
    const w = world();
    const first = await w.clock.settle(w.vendor().getToken('client-a'));
    const vendors = Array.from({ length: 5 }, () => w.vendor());
    const results = await w.clock.settle(
      Promise.all(
        Array.from({ length: 50 }, (_, i) => vendors[i % 5].invalidate('client-a', first.accessToken)),
      ),
    );
    expect(w.identity.callCount()).toBe(2);
    expect(results.every((r) => r.accessToken === first.accessToken)).toBe(true);
  });

  it('asks Identity once for 30 reports in a row of a token Identity still considers valid', async () => {
    const w = world();
    const first = await w.clock.settle(w.vendor().getToken('client-a'));
    const callsBefore = w.identity.callCount();
    for (let i = 0; i < 30; i += 1) {
      const result = await w.clock.settle(w.vendor().invalidate('client-a', first.accessToken));
      expect(result.accessToken).toBe(first.accessToken);
      await w.clock.advance(1_000);
    }
    expect(w.identity.callCount() - callsBefore).toBe(1);
    expect(w.metrics.get('InvalidationsSuppressed')).toBe(29);
  });

  it('asks Identity again about a reconfirmed token once the invalidation cooldown has passed', async () => {
    const w = world({ config: { invalidationCooldownMs: 60_000 } });
    const first = await w.clock.settle(w.vendor().getToken('client-a'));
    await w.clock.settle(w.vendor().invalidate('client-a', first.accessToken));
    const callsBefore = w.identity.callCount();
    await w.clock.advance(59_000);
    await w.clock.settle(w.vendor().invalidate('client-a', first.accessToken));
    expect(w.identity.callCount() - callsBefore).toBe(0);
    await w.clock.advance(1_000);
    await w.clock.settle(w.vendor().invalidate('client-a', first.accessToken));
    expect(w.identity.callCount() - callsBefore).toBe(1);
  });

  it('re-checks with Identity when a freshly fetched token is reported at once', async () => {
    const w = world();
    const first = await w.clock.settle(w.vendor().getToken('client-a'));
    w.identity.revoke('client-a');
    const result = await w.clock.settle(w.vendor().invalidate('client-a', first.accessToken));
    expect(result.accessToken).not.toBe(first.accessToken);
  });

  it('returns the current token without calling Identity when the rejected one was already replaced', async () => {
    const w = world();
    await w.clock.settle(w.vendor().getToken('client-a'));
    const result = await w.clock.settle(w.vendor().invalidate('client-a', 'some-older-token:ab'));
    expect(result.source).not.toBe('identity');
    expect(w.identity.callCount()).toBe(1);
  });

  it('drops the rejected token from its own memory cache', async () => {
    const w = world();
    const vendor = w.vendor();
    const first = await w.clock.settle(vendor.getToken('client-a'));
    await w.clock.advance(60_000);
    w.identity.revoke('client-a');
    await w.clock.settle(w.vendor().invalidate('client-a', first.accessToken));
    await w.clock.settle(vendor.invalidate('client-a', first.accessToken));
    const after = await w.clock.settle(vendor.getToken('client-a'));
    expect(after.accessToken).not.toBe(first.accessToken);
    expect(w.identity.callCount()).toBe(2);
  });

  it('rejects an empty accessToken with InvalidRequest', async () => {
    const w = world();
    await expect(w.vendor().invalidate('client-a', '')).rejects.toBeInstanceOf(InvalidRequestError);
  });
});

describe('TokenVendor.refreshAll', () => {
  it('fetches missing tokens, waits out expiring ones and leaves valid ones alone over 50 clients', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `client-${String(i).padStart(2, '0')}`);
    const w = world({ clients: ids });
    // 10 expiring within the horizon, 20 valid for long, 20 missing.
    await w.clock.settle(Promise.all(ids.slice(0, 10).map((id) => w.vendor().getToken(id))));
    await w.clock.advance(600_000);
    await w.clock.settle(Promise.all(ids.slice(10, 30).map((id) => w.vendor().getToken(id))));
    await w.clock.advance((LIFESPAN_S - 600 - 30) * 1000);
    const callsBefore = w.identity.callCount();
    const summary = await w.clock.settle(w.vendor().refreshAll({ horizonMs: 60_000, concurrency: 4 }));
    expect(summary).toMatchObject({ clients: 50, fetched: 20, waited: 10, valid: 20, failed: 0 });
    expect(w.identity.callCount() - callsBefore).toBe(30);
  });

  it('keeps refreshing the other clients when one fails', async () => {
    const w = world({ clients: ['client-a', 'client-b', 'client-c'] });
    w.identity.setSecret('client-b', 'changed');
    const summary = await w.clock.settle(w.vendor().refreshAll());
    expect(summary).toMatchObject({
      clients: 3,
      fetched: 2,
      failed: 1,
      failures: [{ clientId: 'client-b', code: 'CredentialsRejected' }],
    });
  });
});
