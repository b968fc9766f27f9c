/**
 * Consumers asking for a client whose credentials Identity rejected (issues 22 and 27: one consumer cannot
 * hurt the others). Each ask used to cost two Identity calls (the cached secret, then a fresh read), so a
 * consumer retrying in a loop spent the instance's shared Identity calls as fast as it asked. Until the
 * secret changes or the cooldown passes, an ask is answered `CredentialsRejected` from the store's record,
 * with one fresh read of the secret (to see a fix at once) and no Identity call.
 */
import { describe, expect, it } from 'vitest';
import { REJECTED_CREDENTIALS_COOLDOWN_MS } from '../../../../functions/contract/index.js';
import { createTokenVendor } from '../../../../functions/core/token-vendor.js';
import { FakeClock } from '../../../../testing/clocks.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../../../../testing/fake-identity.js';
import { MemoryTokenStore } from '../../../../testing/memory-token-store.js';

function world() {
  const clock = new FakeClock();
  const broken = testCredentials('broken');
  const identity = new FakeIdentity(clock, [broken]);
  identity.setSecret('broken', 'revoked-in-marketo');
  const credentials = new MemoryCredentials([broken]);
  const vendor = createTokenVendor({ store: new MemoryTokenStore(), credentials, identity, clock });
  const ask = () =>
    clock.settle(
      vendor.getToken('broken').then(
        () => 'token',
        (error: Error) => error,
      ),
    );
  return { clock, identity, credentials, broken, ask };
}

describe('a vend for a client whose credentials Identity rejected', () => {
  it('answers CredentialsRejected to every later ask without calling Identity again', async () => {
    const w = world();
    await w.ask();
    const answers = [];
    for (let i = 0; i < 10; i += 1) {
      answers.push(await w.ask());
      await w.clock.advance(1_000);
    }

    expect(answers.map((a) => (a instanceof Error ? (a as Error & { code: string }).code : a))).toEqual(
      Array(10).fill('CredentialsRejected'),
    );
    expect(w.identity.callCount('broken')).toBe(2); // the first ask only: the cached secret, then a fresh read
  });

  it('asks Identity at once when the secret changed after the rejection', async () => {
    const w = world();
    await w.ask();
    await w.clock.advance(1_000);
    w.identity.setSecret('broken', w.broken.clientSecret);
    w.credentials.put(w.broken, { changedAt: w.clock.now() });

    expect(await w.ask()).toBe('token');
    expect(w.identity.callCount('broken')).toBe(3);
  });

  it(`asks Identity again once ${REJECTED_CREDENTIALS_COOLDOWN_MS / 60_000} minutes have passed`, async () => {
    const w = world();
    await w.ask();
    await w.clock.advance(REJECTED_CREDENTIALS_COOLDOWN_MS);

    await w.ask();
    expect(w.identity.callCount('broken')).toBe(4);
  });
});
