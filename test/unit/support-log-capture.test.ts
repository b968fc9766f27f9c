import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/**
 * `npm test` reads as a summary (issue 26: a passing run printed 2,909 lines, 1,380 of them Powertools'
 * "No application metrics to publish"): vitest with the suite's settings over test/support/quiet-run, one
 * passing and one failing file.
 */
describe('a test run with the suite settings', () => {
  const output = run(
    process.execPath,
    ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/support/quiet-run/vitest.config.ts'],
    { env: { ...process.env, TEST_OUTPUT: '', FORCE_COLOR: '0' }, maxBuffer: 4 * 1024 * 1024 },
  ).then(
    ({ stdout, stderr }) => stdout + stderr,
    (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
  );

  it('holds back what passing tests write, to stdout or the console', async () => {
    const text = await output;
    expect(text).not.toContain('PASSING-STDOUT');
    expect(text).not.toContain('PASSING-CONSOLE');
  });

  it('prints what a failing test wrote, to stderr and the console', async () => {
    const text = await output;
    expect(text).toContain('---- output of failed test "writes to stderr and the console, and fails" ----');
    expect(text).toContain('FAILING-STDERR');
    expect(text).toContain('FAILING-CONSOLE');
  });

  it('prints all that a failing concurrent test wrote, and what others wrote while it ran', async () => {
    const text = await output;
    expect(text).toContain('---- output of failed test "writes while the other runs, and fails" ----');
    expect(text).toContain('CONCURRENT-FAILING-BEFORE');
    expect(text).toContain('CONCURRENT-FAILING-AFTER');
    expect(text).toContain('CONCURRENT-PASSING');
  });

  it('prints what is announced (a skip reason) in a passing file', async () => {
    expect(await output).toContain('ANNOUNCED: a skip reason');
  });
});
