import { chmod, mkdir, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  assertOwnPrivateEntry,
  assertTrustedWay,
  privateFileCheck,
  readTrustedFile,
  UntrustedPathError,
} from '../../../local/file-trust.js';
import { captureError } from '../../../testing/leak-scan.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
const scratch = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'mtv-trust-'));
  dirs.push(dir);
  return dir;
};

describe.skipIf(process.getuid === undefined)('file trust', () => {
  it('accepts a path under the sticky, world-writable temporary folder', async () => {
    const dir = await scratch();
    await expect(assertTrustedWay(join(dir, 'data'), 'data directory')).resolves.toBe(join(dir, 'data'));
  });

  it('refuses a path under a directory anyone may write that is not sticky', async () => {
    const parent = await scratch();
    await chmod(parent, 0o777);
    await mkdir(join(parent, 'data'));

    const error = await captureError(() => assertTrustedWay(join(parent, 'data'), 'data directory'));

    expect(error).toBeInstanceOf(UntrustedPathError);
    expect(error.message).toContain(`lies in ${parent}, which every user may write (mode 0777, not sticky)`);
  });

  it('refuses an entry of its own that its group may write', async () => {
    const dir = await scratch();
    await chmod(dir, 0o770);

    const error = await captureError(async () =>
      assertOwnPrivateEntry(await stat(dir), `data directory ${dir}`),
    );

    expect(error.message).toBe(
      `data directory ${dir} is writable by its group (mode 0770): someone else may have changed it. Check its contents, then run chmod go-w on it.`,
    );
  });

  it('reads a missing file as undefined and an own private file as its text', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'policy.json'), '{"keys":[]}', { mode: 0o600 });

    await expect(readTrustedFile(join(dir, 'missing.json'), 'policy file')).resolves.toBeUndefined();
    expect((await readTrustedFile(join(dir, 'policy.json'), 'policy file'))?.text).toBe('{"keys":[]}');
  });

  it('makes a secrets file others could read 0600 on load, and says so', async () => {
    const dir = await scratch();
    const path = join(dir, 'credentials.json');
    await writeFile(path, '{"clients":[]}');
    await chmod(path, 0o644);
    const told: string[] = [];
    const handle = await open(path, 'r');
    try {
      await privateFileCheck('credentials file', (message) => told.push(message))(path, handle);
    } finally {
      await handle.close();
    }

    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(told).toEqual([
      `credentials file ${path} was readable by other users (mode 0644); now 0600. Rotate its secrets if others may have read them.`,
    ]);
  });
});
