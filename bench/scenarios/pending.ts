/**
 * Scenario 4 (cold start proxy) needs the Lambda bundles exactly as the CDK stack builds them; until it
 * is wired this placeholder says so in the report.
 *
 * TODO(scenario 4): synthesize the stack (or call the construct's bundling) to get each Lambda's bundle,
 *   report bytes and gzip bytes, then spawn ≥ 10 fresh `node` processes that import the bundle and answer
 *   one in-memory-hit vend (store pre-seeded in dynalite), minus bare `node -e 0` start; median + spread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Scenario, ScenarioReport } from '../lib/scenario.js';

const exists = (relative: string): boolean => existsSync(fileURLToPath(new URL(relative, import.meta.url)));

const pending = (id: string, title: string, needs: string, present: () => boolean): Scenario => ({
  id,
  title,
  async run(): Promise<ScenarioReport> {
    const why = present()
      ? `${needs} now exists but this scenario is not wired to it yet (TODO in bench/scenarios/pending.ts).`
      : `Not measured yet: needs ${needs}, which has not landed.`;
    return {
      id,
      title,
      markdown: `_${why}_`,
      console: [`${id}: ${why}`],
      targets: [],
      violations: [],
      charts: [],
      durationMs: 0,
    };
  },
});

/** Scenario 4: bundle size and import time of each Lambda as the CDK stack builds it (pending). */
export const coldStartScenario = pending(
  'coldstart',
  '4. Cold start proxy',
  'the Lambda bundles as the CDK stack builds them',
  () => exists('../../cdk.out/manifest.json'),
);
