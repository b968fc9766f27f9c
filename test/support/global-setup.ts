import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Creates the leak-scan directory for the whole run (workers inherit LEAK_SCAN_DIR); the closing reporter
 * (plain-summary-reporter.ts) scans it, and the teardown removes it.
 */
export default function setup(): () => void {
  const directory = mkdtempSync(join(tmpdir(), 'mtv-leak-scan-'));
  process.env.LEAK_SCAN_DIR = directory;
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  // The AWS SDK warns once per process that it will need Node 22; on Node 20 every worker would print it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return () => rmSync(directory, { recursive: true, force: true });
}
