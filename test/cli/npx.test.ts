import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const manifest = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
};

/**
 * `npx marketo-token-vendor`, the one spelling the docs use, works in a clone after `npm ci`: the bin is a
 * file the repository tracks (a build makes dist/, which `npm ci` does not), and npx runs it.
 */
describe('npx marketo-token-vendor in the repository', () => {
  it('has a bin that the repository tracks, so no build is needed before npx runs it', () => {
    const bin = manifest.bin['marketo-token-vendor'] as string;

    const tracked = execFileSync('git', ['ls-files', '--error-unmatch', bin], {
      cwd: ROOT,
      encoding: 'utf8',
    });

    expect(tracked.trim()).toBe(bin);
  });

  it('prints the CLI help', async () => {
    const { stdout } = await run('npx', ['--offline', 'marketo-token-vendor', '--help'], {
      cwd: ROOT,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });

    expect(stdout.split('\n')[0]).toBe('Usage: marketo-token-vendor [options] [command]');
  });
});
