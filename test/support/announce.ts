/** The global hook log-capture.ts installs for {@link announce}. */
export const ANNOUNCE = Symbol.for('marketo-token-vendor.announce');

/**
 * Prints a line that a passing run must still show, such as why a test was skipped: output of passing tests
 * is otherwise held back (test/support/log-capture.ts, vitest's `silent: 'passed-only'`).
 */
export function announce(line: string): void {
  const hook = (globalThis as { [ANNOUNCE]?: (text: string) => void })[ANNOUNCE];
  if (hook) hook(`${line}\n`);
  else process.stderr.write(`${line}\n`);
}
