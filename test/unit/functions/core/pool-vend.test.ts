import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TOKEN_VENDOR_CONFIG,
  type TokenVendorConfig,
} from '../../../../functions/core/vendor-config.js';
import { testCredentials } from '../../../../testing/fake-identity.js';
import { createMemoryVendor } from '../../../../testing/memory-vendor.js';

const LIFESPAN_S = 60;
const SLACK_MS = DEFAULT_TOKEN_VENDOR_CONFIG.expirySlackMs;

/** An instance pool "acme" of `size` members, in memory (testing/memory-vendor.ts), with `LIFESPAN_S` tokens. */
const pool = (size: number, config: Partial<TokenVendorConfig> = { poolMembershipCacheMs: 5_000 }) =>
  createMemoryVendor({
    clients: Array.from({ length: size }, (_, i) => ({
      ...testCredentials(`acme-${i + 1}`),
      instance: 'acme',
    })),
    lifespanSeconds: LIFESPAN_S,
    config: { tokenLifespanSeconds: LIFESPAN_S, ...config },
  });

const mod = (v: number, p: number) => ((v % p) + p) % p;

describe.each([2, 3])('a pool of %i Custom Services', (size) => {
  it('serves minValidity = lifespan/3 without waiting over six lifespans, with expiries staggered', async () => {
    const p = pool(size);
    const refresher = p.vendor();
    const consumer = p.vendor();
    const minValiditySeconds = LIFESPAN_S / 3;
    const sweeps: Array<Promise<unknown>> = [];
    let served = 0;
    let smallestGapAfterWarmUp = Number.POSITIVE_INFINITY;
    // Warm-up: the first sweep fetches what it can before the first ask (a consumer racing it for the lease at
    // t = 0 would wait one lease poll: a cold start, not the steady state this measures).
    await p.clock.settle(refresher.refreshAll({ horizonMs: 2000 }));
    for (let t = 0; t < 6 * LIFESPAN_S * 1000; t += 500) {
      if (t % 2000 === 0) sweeps.push(refresher.refreshAll({ horizonMs: 2000 }));
      const before = p.clock.now();
      const token = await p.clock.settle(
        consumer.getInstanceToken('acme', { minValiditySeconds, maxWaitMs: 5_000 }),
      );
      expect(p.clock.now()).toBe(before);
      expect(token.expiresInSeconds).toBeGreaterThanOrEqual(minValiditySeconds);
      served += 1;
      if (t > 2 * LIFESPAN_S * 1000) {
        const expiries = p.records.map((r) => p.store.items.get(r.clientId)?.token?.expiresAt ?? 0);
        const positions = expiries.map((e) => mod(e, LIFESPAN_S * 1000)).sort((a, b) => a - b);
        const gaps = positions.map((x, i) =>
          i === 0 ? x + LIFESPAN_S * 1000 - positions[positions.length - 1] : x - positions[i - 1],
        );
        smallestGapAfterWarmUp = Math.min(smallestGapAfterWarmUp, ...gaps);
      }
      await p.clock.advance(500);
    }
    await p.clock.settle(Promise.all(sweeps));
    expect(served).toBe(720);
    // Evenly staggered would be lifespan/size apart; each re-fetch lands up to one expiry slack and one
    // sweep period (2 s) late.
    expect(smallestGapAfterWarmUp).toBeGreaterThanOrEqual((LIFESPAN_S * 1000) / size - 2 * SLACK_MS - 2_000);
  });
});

describe('instance pool vends', () => {
  it('returns the member with the most remaining life and names it', async () => {
    const p = pool(2);
    const v = p.vendor();
    await p.clock.settle(v.getToken('acme-1'));
    await p.clock.advance(10_000);
    await p.clock.settle(v.getToken('acme-2'));
    const token = await p.clock.settle(v.getInstanceToken('acme'));
    expect(token.clientId).toBe('acme-2');
  });

  it('degrades to the other members when one member is rejected, with an alarm-worthy log and metric', async () => {
    const p = pool(2);
    p.identity.setSecret('acme-1', 'revoked-in-marketo');
    const token = await p.clock.settle(p.vendor().getInstanceToken('acme', { minValiditySeconds: 10 }));
    expect(token.clientId).toBe('acme-2');
    expect(p.recorded).toContain('PoolMemberFailed');
    expect(p.logLines.join('\n')).toContain('pool member failed');
    expect(p.logLines.join('\n')).toContain('CredentialsRejected');
  });

  it('invalidates a rejected pool token against the member holding it and returns the pool best', async () => {
    const p = pool(2);
    const v = p.vendor();
    const first = await p.clock.settle(v.getInstanceToken('acme'));
    p.identity.revoke(first.clientId);
    const next = await p.clock.settle(p.vendor().invalidateInstance('acme', first.accessToken));
    expect(next.accessToken).not.toBe(first.accessToken);
    expect(p.identity.callCount(first.clientId)).toBe(2);
  });

  it('returns the pool best without an Identity call when the rejected token is no longer held', async () => {
    const p = pool(2);
    const v = p.vendor();
    await p.clock.settle(v.getInstanceToken('acme'));
    const calls = p.identity.callCount();
    await p.clock.settle(v.invalidateInstance('acme', 'long-gone-token:ab'));
    expect(p.identity.callCount()).toBe(calls);
  });

  it('fails with UnknownClient for an instance with no members', async () => {
    const p = pool(2);
    await expect(p.clock.settle(p.vendor().getInstanceToken('nobody'))).rejects.toMatchObject({
      code: 'UnknownClient',
    });
  });

  it('reports each pool guaranteed minimum remaining life in the sweep summary', async () => {
    const p = pool(2);
    const v = p.vendor();
    await p.clock.settle(v.refreshAll({ horizonMs: 60_000 }));
    const summary = await p.clock.settle(v.refreshAll({ horizonMs: 60_000 }));
    expect(summary.pools).toEqual([
      { instance: 'acme', members: 2, liveMembers: 2, guaranteedMinRemainingSeconds: expect.any(Number) },
    ]);
    expect(summary.pools[0].guaranteedMinRemainingSeconds).toBeGreaterThanOrEqual(
      LIFESPAN_S / 2 - SLACK_MS / 1000 - 1,
    );
  });

  describe('membership (issue 22: the instance tag alone is anyone-with-TagResource’s word)', () => {
    it('never serves a client whose instance tag names the pool while its secret names another instance', async () => {
      const p = pool(2);
      const outsider = { ...testCredentials('other-team'), instance: 'other' };
      p.identity.setSecret(outsider.clientId, outsider.clientSecret);
      p.credentials.put(outsider);
      const v = p.vendor();
      await p.clock.settle(v.getInstanceToken('acme'));
      await p.clock.advance(10_000);
      // The outsider's token is the freshest: a pool that trusted the tag would hand it out.
      await p.clock.settle(v.getToken('other-team'));
      p.credentials.tag('other-team', 'acme');
      await p.clock.advance(5_000);
      const served = await p.clock.settle(p.vendor().getInstanceToken('acme'));
      expect(served.clientId).toMatch(/^acme-/);
      expect(p.logLines.join('\n')).toContain(
        'pool member excluded: its instance tag and its secret disagree',
      );
    });

    it('never serves a client whose secret names the pool while its tag does not (both must agree)', async () => {
      const p = pool(1);
      const untagged = { ...testCredentials('untagged'), instance: 'acme' };
      p.identity.setSecret(untagged.clientId, untagged.clientSecret);
      p.credentials.put(untagged);
      p.credentials.tag('untagged', undefined);
      const v = p.vendor();
      for (let i = 0; i < 3; i += 1) {
        expect((await p.clock.settle(v.getInstanceToken('acme'))).clientId).toBe('acme-1');
        await p.clock.advance(1_000);
      }
    });

    // The documented window (docs/pools.md, "Membership"): a pool change reaches authorization within 5 s.
    it('stops serving a member moved out of the pool within 5 s, with the default settings', async () => {
      const p = pool(2, {});
      const v = p.vendor();
      await p.clock.settle(v.getInstanceToken('acme'));
      await p.clock.advance(10_000);
      await p.clock.settle(v.getToken('acme-2'));
      const moved = { ...(p.records[1] as (typeof p.records)[number]), instance: 'elsewhere' };
      p.credentials.put(moved);
      p.credentials.tag('acme-2', 'elsewhere');
      await p.clock.advance(5_000);
      expect((await p.clock.settle(v.getInstanceToken('acme'))).clientId).toBe('acme-1');
    });
  });
});
