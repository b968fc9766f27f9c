import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanDirectory } from './leak-scan.js';

/**
 * Creates the leak-scan directory for the whole run (workers inherit LEAK_SCAN_DIR) and, at the end,
 * fails the run if any captured log line holds a client secret or a full access token.
 */
export default function setup(): () => void {
  const directory = mkdtempSync(join(tmpdir(), 'mtv-leak-scan-'));
  process.env.LEAK_SCAN_DIR = directory;
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  return () => {
    const { lines, leaks } = scanDirectory(directory);
    rmSync(directory, { recursive: true, force: true });
    if (leaks.length > 0) {
      const report = leaks
        .slice(0, 20)
        .map((l) => `  ${l.kind} in ${l.file}: ${l.excerpt}`)
        .join('\n');
      // vitest reports but does not fail on a teardown error: set the exit code ourselves.
      process.exitCode = 1;
      throw new Error(`leak scan: ${leaks.length} secret(s) or token(s) found in captured logs\n${report}`);
    }
    process.stdout.write(`leak scan: ${lines} captured log lines, 0 secrets or tokens found\n`);
  };
}
