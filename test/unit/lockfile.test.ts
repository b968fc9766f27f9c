import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('package-lock.json', () => {
  it('names no optional dependency without an entry, so npm ci accepts it on a fresh machine', async () => {
    const check = run(process.execPath, ['scripts/prune-lock-optionals.mjs', '--check']);
    await expect(check).resolves.toMatchObject({ stdout: expect.stringContaining('nothing to do') });
  });
});
