import { describe, it } from 'vitest';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Tests that run side by side: one fails after the other has started (and written) and before it ends. */
describe.concurrent('a file whose tests run concurrently', () => {
  it('writes while the other runs, and fails', async ({ expect }) => {
    process.stderr.write('CONCURRENT-FAILING-BEFORE\n');
    await pause(100);
    process.stderr.write('CONCURRENT-FAILING-AFTER\n');
    expect(1).toBe(2);
  });

  it('starts second, writes while the other runs, and passes', async ({ expect }) => {
    await pause(50);
    process.stdout.write('CONCURRENT-PASSING\n');
    await pause(200);
    expect(1).toBe(1);
  });
});
