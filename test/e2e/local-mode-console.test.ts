import { afterEach, expect, it } from 'vitest';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';

/**
 * Local mode's console with one misconfigured client (issue 26): every sweep printed four 520-character
 * Lambda-shaped JSON warnings for it (65 lines in 2.5 minutes). Now each cause is one readable line.
 */
const started: TestLocalVendor[] = [];
afterEach(async () => {
  for (const local of started.splice(0)) await local.stop();
});

it('prints a client that fails every sweep once, as readable lines, and counts the repeats at stop', async () => {
  const lines: string[] = [];
  const local = await startTestLocalVendor({
    dataDirPrefix: 'mtv-console-',
    logWrite: (line) => lines.push(line),
  });
  started.push(local);
  await local.addClient({ clientId: 'flaky', clientSecret: 'flaky-marketo-secret-0123' });
  local.sim.injectIdentityFault({ kind: 'status', status: 503 }, 100, { clientId: 'flaky' });

  await local.refreshNow();
  await local.refreshNow();
  const whileRunning = [...lines];
  await local.stop();

  expect(whileRunning.every((line) => !line.startsWith('{'))).toBe(true);
  expect(whileRunning.filter((line) => line.includes('Identity call failed'))).toEqual([
    expect.stringMatching(
      /^\d\d:\d\d:\d\d WARN {2}Identity call failed clientId=flaky code=IdentityUnavailable attempt=1 reason="Identity answered HTTP 503, server_error"$/,
    ),
  ]);
  expect(whileRunning.filter((line) => line.includes('refresh failed'))).toHaveLength(1);
  expect(lines.filter((line) => line.includes('Identity call failed')).at(-1)).toMatch(
    /\(repeated 7 more times since \d\d:\d\d:\d\d\)$/,
  );
});
