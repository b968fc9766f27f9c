import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import LongestFirstSequencer from './test/support/longest-first-sequencer.js';

/**
 * The construct's tests (test/infra) share one module graph per worker (`isolate: false`): each of their files
 * would otherwise load aws-cdk-lib again and start the CloudFormation validation engine that every synthesis
 * runs (a WebAssembly module, about 7 s), which cost more than their tests. They keep no state between files
 * but what aws-cdk-lib caches itself. Every other file runs in a fresh module graph as before.
 */
const INFRA = 'test/infra/**/*.test.ts';
/**
 * The unit files share one module graph per worker too: each is quick (tens of milliseconds) and would
 * otherwise pay for its imports again (the SDK clients, Powertools). They restore what they change (fake
 * timers, spies, `process.env`) in `afterEach`.
 */
const UNIT = 'test/unit/**/*.test.ts';

/** What every test file gets, whichever project runs it. */
const perFile: TestProjectInlineConfiguration['test'] = {
  setupFiles: ['test/support/log-capture.ts'],
  // Guards against a hang, not speed bounds: a CPU-bound synthesis (esbuild bundling, cdk-nag) that takes
  // 2-5 s idle took 19 s under `npm run test:stress`; two minutes hold on a machine ten times slower.
  testTimeout: 120_000,
  hookTimeout: 120_000,
  pool: 'forks',
};

export default defineConfig({
  test: {
    ...perFile,
    // Once for the run (projects do not extend this config, so it is not run again per project).
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      {
        test: {
          ...perFile,
          name: 'main',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, INFRA, UNIT],
        },
      },
      { test: { ...perFile, name: 'unit', include: [UNIT], isolate: false } },
      { test: { ...perFile, name: 'infra', include: [INFRA], isolate: false } },
    ],
    // Vitest's default is one worker fewer than the cores: one on a 2-core machine. Most files wait on sockets,
    // timers and child processes (a run with two used 1.2 of 2 cores), so three overlap those waits: idle, the
    // whole run took 221 s with three against 241-280 s with two. No test depends on the machine's speed.
    maxWorkers: 3,
    // Longest files first from the last run's durations (rough figures when CI has no cache), the shared infra
    // files last and together (test/support/longest-first-sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
    reporters: ['default', './test/support/plain-summary-reporter.ts'],
    // A passing run reads as a summary: console output only for failing tests (test/support/log-capture.ts
    // holds what is written straight to stdout/stderr the same way); TEST_OUTPUT=all shows everything.
    silent: process.env.TEST_OUTPUT === 'all' ? false : 'passed-only',
    // One line per file; a test is listed on its own only past 10 s (speeds belong to npm run bench).
    slowTestThreshold: 10_000,
    // `npm test` runs with --coverage: the published code's coverage, a summary in the output, HTML in coverage/.
    coverage: {
      provider: 'v8',
      include: ['functions/**/*.ts', 'lib/**/*.ts', 'local/**/*.ts', 'cli/**/*.ts', 'client/**/*.ts'],
      reporter: ['text-summary', 'html', 'json-summary'],
      reportsDirectory: 'coverage',
      reportOnFailure: true,
      // What the whole suite reaches (2026-12-01: lines 90.9, statements 89.5, functions 90.0, branches 82.7 %),
      // less one point for branches only some runs take (retries, timeouts). Raise, never lower.
      thresholds: { lines: 89, statements: 88, functions: 89, branches: 81 },
    },
  },
});
