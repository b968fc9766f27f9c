import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { secureDataDir } from '../../../local/data-dir.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

const newDataDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'mtv-data-dir-'));
  dirs.push(dir);
  return dir;
};

describe('secureDataDir', () => {
  it('makes a file others could read 0600 and names it', async () => {
    const dir = await newDataDir();
    await writeFile(join(dir, 'policy.json'), '{}', { mode: 0o644 });

    const repair = await secureDataDir(dir);

    expect(repair.tightened).toEqual(['policy.json']);
    expect((await stat(join(dir, 'policy.json'))).mode & 0o777).toBe(0o600);
  });

  // Another CLI run's lock (proper-lockfile's `<file>.lock` directory, made 0755) comes and goes while this
  // run walks the directory: an entry gone between its listing and its chmod has nothing left to tighten.
  it('passes over entries that vanish while it walks the directory (another run’s lock)', async () => {
    const dir = await newDataDir();
    await writeFile(join(dir, 'credentials.json'), '{}', { mode: 0o600 });
    // The other run is another process, as it is in life: a shell making and removing its lock at full speed.
    const lock = join(dir, 'credentials.json.lock');
    const other = spawn(
      'sh',
      ['-c', `while :; do mkdir -m 755 '${lock}' 2>/dev/null; rmdir '${lock}' 2>/dev/null; done`],
      {
        stdio: 'ignore',
      },
    );

    const outcomes: PromiseSettledResult<unknown>[] = [];
    for (let round = 0; round < 20; round++) {
      outcomes.push(...(await Promise.allSettled(Array.from({ length: 50 }, () => secureDataDir(dir)))));
    }
    other.kill('SIGKILL');
    await once(other, 'exit');

    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
  });
});
