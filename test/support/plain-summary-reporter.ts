import type { Reporter, TestModule } from 'vitest/node';
import { scanDirectory } from '../../testing/leak-scan.js';

/**
 * Closes the run: scans every captured log line for client secrets and tokens (a leak fails the run), then
 * prints one plain line, `tests: N passed, N failed, N skipped`, after vitest's own summary, so CI tooling
 * that does not know vitest's format still reads the counts.
 */
export default class PlainSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed += 1;
        else if (state === 'failed') counts.failed += 1;
        else counts.skipped += 1;
      }
    }
    const directory = process.env.LEAK_SCAN_DIR;
    if (directory) {
      const { lines, leaks } = scanDirectory(directory);
      if (leaks.length > 0) {
        const report = leaks
          .slice(0, 20)
          .map((l) => `  ${l.kind} in ${l.file}: ${l.excerpt}`)
          .join('\n');
        process.stdout.write(
          `\nleak scan: ${leaks.length} secret(s) or token(s) found in captured logs\n${report}\n`,
        );
        counts.failed += 1;
        process.exitCode = 1;
      } else {
        process.stdout.write(`\nleak scan: ${lines} captured log lines, 0 secrets or tokens found\n`);
      }
    }
    process.stdout.write(
      `tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`,
    );
  }
}
