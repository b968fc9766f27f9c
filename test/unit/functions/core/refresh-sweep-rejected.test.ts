/**
 * The refresher and a client whose credentials Identity rejects (issue 22): today every sweep (once a minute)
 * asks Identity twice (the cached secret, then a fresh read) and counts a RefreshFailed, forever, which keeps
 * the refresh alarm red for every other failure too and never says which client. The sweep backs such a client
 * off until its secret changes or a cooldown passes, and reports it per client.
 */
import { describe, expect, it } from 'vitest';
import { REJECTED_CREDENTIALS_COOLDOWN_MS } from '../../../../functions/contract/index.js';
import type { MetricName } from '../../../../functions/core/ports.js';
import { createTokenVendor } from '../../../../functions/core/token-vendor.js';
import { FakeClock } from '../../../../testing/clocks.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../../../../testing/fake-identity.js';
import { MemoryTokenStore } from '../../../../testing/memory-token-store.js';

const MINUTE = 60_000;

function sweeper() {
  const clock = new FakeClock();
  const broken = testCredentials('broken');
  const healthy = testCredentials('healthy');
  const identity = new FakeIdentity(clock, [broken, healthy]);
  identity.setSecret('broken', 'revoked-in-marketo');
  const credentials = new MemoryCredentials([broken, healthy]);
  const recorded: Array<{ name: MetricName; clientId?: string }> = [];
  const vendor = createTokenVendor({
    store: new MemoryTokenStore(),
    credentials,
    identity,
    clock,
    metrics: { record: (name, _value, _unit, dimensions) => recorded.push({ name, ...dimensions }) },
  });
  /** One scheduled run a minute for `minutes` minutes. */
  const sweepFor = async (minutes: number) => {
    const summaries = [];
    for (let i = 0; i < minutes; i += 1) {
      summaries.push(await clock.settle(vendor.refreshAll({ horizonMs: MINUTE })));
      await clock.advance(MINUTE);
    }
    return summaries;
  };
  return { clock, identity, credentials, broken, recorded, sweepFor };
}

describe('the refresher and a client whose credentials Identity rejected', () => {
  it('asks Identity for it in the first of ten sweeps a minute apart only', async () => {
    const s = sweeper();
    await s.sweepFor(10);
    expect(s.identity.callCount('broken')).toBe(2); // the cached secret, then a fresh read of it
  });

  it('still reports it failed in every sweep, with its code, without asking Identity', async () => {
    const s = sweeper();
    const summaries = await s.sweepFor(3);
    expect(summaries.map((summary) => summary.failures)).toEqual(
      Array(3).fill([{ clientId: 'broken', code: 'CredentialsRejected' }]),
    );
  });

  it('reports it per client (ClientCredentialsRejected with its client id), not as a RefreshFailed', async () => {
    const s = sweeper();
    await s.sweepFor(3);
    expect(s.recorded.filter((m) => m.name === 'ClientCredentialsRejected')).toEqual(
      Array(3).fill({ name: 'ClientCredentialsRejected', clientId: 'broken' }),
    );
    expect(s.recorded.filter((m) => m.name === 'RefreshFailed')).toEqual([]);
  });

  it('asks Identity again in the first sweep after its secret changed', async () => {
    const s = sweeper();
    await s.sweepFor(2);
    s.identity.setSecret('broken', s.broken.clientSecret);
    s.credentials.put(s.broken, { changedAt: s.clock.now() });
    const [after] = await s.sweepFor(1);
    expect(after?.failures).toEqual([]);
    expect(s.identity.callCount('broken')).toBe(3);
  });

  it(`asks Identity again once ${REJECTED_CREDENTIALS_COOLDOWN_MS / MINUTE} minutes have passed without a change`, async () => {
    const s = sweeper();
    await s.sweepFor(REJECTED_CREDENTIALS_COOLDOWN_MS / MINUTE + 1);
    expect(s.identity.callCount('broken')).toBe(4);
  });
});
