import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The order files start in (vitest.config.ts `sequence.sequencer`). With two workers the run ends when the
 * worker with the most left finishes, so the longest files start first and short ones fill the tail:
 *
 * - a file's duration from vitest's cache of the last run when there is one, else the rough figure below
 *   (CI installs node_modules afresh, and with it vitest's cache: vitest alone would order by file size, and
 *   the Python suite, a small file of 40 s, would start last);
 * - the files of the projects that share one module graph per worker (`infra`, then `unit`) last and together,
 *   so a worker that finishes one takes the next in the same process (aws-cdk-lib loaded once per worker);
 *   they take a few seconds or less each there, the right size for the tail;
 * - a file that failed last time first, as vitest does.
 *
 * Only the order depends on these figures; a wrong or missing one costs minutes of wall time, never a result.
 */
const ROUGH_SECONDS: Readonly<Record<string, number>> = {
  // Seconds per file in one loaded run (2026-12-07; four files since run side by side inside), rounded; files
  // under 8 s are left out.
  'test/package/pack.test.ts': 95,
  'test/python/pytest.test.ts': 40,
  'test/reliability/identity-faults.test.ts': 11,
  'test/cli/local-mode.test.ts': 30,
  'test/bench/sync-jobs.test.ts': 13,
  'test/bench/rotation.test.ts': 25,
  'test/cli/local-runtime.test.ts': 24,
  'test/e2e/rotation.test.ts': 22,
  'test/e2e/local-mode-gateway-parity.test.ts': 21,
  'test/integration/token-engine.test.ts': 11,
  'test/bench/expiry-gap.test.ts': 20,
  'test/e2e/newcomer.test.ts': 20,
  'test/reliability/process-faults.test.ts': 11,
  'test/integration/instance-pool.test.ts': 18,
  'test/cli/check.test.ts': 14,
  'test/bench/stampede.test.ts': 14,
  'test/bench/steady-state.test.ts': 13,
  'test/e2e/secret-rotation.test.ts': 13,
  'test/e2e/bulk-export.test.ts': 11,
  'test/e2e/start-cli.test.ts': 10,
  'test/integration/identity-echo-leak.test.ts': 9,
  'test/e2e/local-mode-connection-caps.test.ts': 9,
};

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const facts = new Map(
      files.map((spec) => {
        const path = relative(root, spec.moduleId).split('\\').join('/');
        const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${path}`);
        const estimateMs = cached?.duration ?? (ROUGH_SECONDS[path] ?? 0) * 1000;
        const shared = spec.project.config.isolate === false;
        return [spec, { path, failed: cached?.failed === true, estimateMs, shared }] as const;
      }),
    );
    const factsOf = (spec: TestSpecification) => {
      const found = facts.get(spec);
      if (!found) throw new Error(`no facts for ${spec.moduleId}`);
      return found;
    };
    return [...files].sort((a, b) => {
      const x = factsOf(a);
      const y = factsOf(b);
      if (x.shared !== y.shared) return x.shared ? 1 : -1;
      if (x.shared && a.project.name !== b.project.name) return a.project.name < b.project.name ? -1 : 1;
      if (x.failed !== y.failed) return x.failed ? -1 : 1;
      return y.estimateMs - x.estimateMs || x.path.localeCompare(y.path);
    });
  }
}
