import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('package-lock.json', () => {
  it('names no optional dependency without an entry, so npm ci accepts it on a fresh machine', async () => {
    const check = run(process.execPath, ['scripts/prune-lock-optionals.mjs', '--check']);
    await expect(check).resolves.toMatchObject({ stdout: expect.stringContaining('nothing to do') });
  });
});

describe('allowScripts', () => {
  it('decides for every locked package with an install script, so npm ci prints no install-scripts warning', () => {
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const { allowScripts = {} } = JSON.parse(readFileSync('package.json', 'utf8')) as {
      allowScripts?: Record<string, boolean>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript === true)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));

    expect(withScripts.filter((name) => !(name in allowScripts))).toEqual([]);
  });
});
