import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSplitBundle, type SplitBundleOutputs } from '../../lib/split-bundle.js';
import { functionEntry } from '../../lib/vendor-functions.js';
import { allowSlowSynthesis } from './helpers.js';

allowSlowSynthesis();

/** The output files a cold start loads: `index.mjs` and every chunk it imports statically, transitively. */
function startUpFiles(outputs: SplitBundleOutputs): string[] {
  const entry = Object.keys(outputs).find((file) => file.endsWith('/index.mjs'));
  if (!entry) throw new Error('no index.mjs among the outputs');
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imported of outputs[file]?.imports ?? [])
      if (imported.kind === 'import-statement' && imported.path in outputs) visit(imported.path);
  };
  visit(entry);
  return [...seen];
}

describe('the vend function’s code-split bundle', () => {
  let dir: string;
  let outputs: SplitBundleOutputs;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mtv-vend-bundle-'));
    outputs = buildSplitBundle(functionEntry('vend'), join(dir, 'out'));
    // esbuild names outputs relative to the working directory; key them so.
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const sourcesOf = (files: readonly string[]): string[] =>
    files.flatMap((file) => Object.keys(outputs[file]?.inputs ?? {}));

  it('loads no AWS SDK client at start-up: the hit path reads with a signed GetItem', () => {
    const sources = sourcesOf(startUpFiles(outputs));
    expect(sources.filter((source) => source.includes('node_modules/@aws-sdk/'))).toEqual([]);
    expect(sources.some((source) => source.endsWith('functions/adapters/signed-get-item.ts'))).toBe(true);
  });

  it('still ships the SDK’s DynamoDB client, in a chunk loaded on the first write', () => {
    const lazy = Object.keys(outputs).filter((file) => !startUpFiles(outputs).includes(file));
    expect(sourcesOf(lazy).some((source) => source.includes('node_modules/@aws-sdk/client-dynamodb/'))).toBe(
      true,
    );
  });
});
