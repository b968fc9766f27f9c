import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { upsertClient } from '../../../../functions/adapters/file-credentials.js';
import { withFileLock } from '../../../../functions/adapters/private-json-file.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('read-modify-writes of a private JSON file', () => {
  it('keep every one of twenty concurrent upserts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mtv-lock-'));
    dirs.push(dir);
    const path = join(dir, 'credentials.json');
    const ids = Array.from({ length: 20 }, (_, i) => `client-${String(i).padStart(2, '0')}`);

    const results = await Promise.all(
      ids.map((clientId) =>
        upsertClient(path, {
          clientId,
          clientSecret: 'secret-123456',
          identityUrl: 'https://a.mktorest.com/identity',
        }),
      ),
    );

    expect(results).toEqual(ids.map(() => 'created'));
    const saved = JSON.parse(await readFile(path, 'utf8')) as { clients: Array<{ clientId: string }> };
    expect(saved.clients.map((c) => c.clientId).sort()).toEqual(ids);
  });

  it('run one at a time and leave no lock behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mtv-lock-'));
    dirs.push(dir);
    const path = join(dir, 'policy.json');
    let inside = 0;
    let most = 0;

    await Promise.all(
      Array.from({ length: 5 }, () =>
        withFileLock(path, async () => {
          inside += 1;
          most = Math.max(most, inside);
          await new Promise((resolve) => setImmediate(resolve));
          inside -= 1;
        }),
      ),
    );

    expect(most).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });
});
