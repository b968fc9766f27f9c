import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/**
 * Writes `value` as pretty JSON to `path` atomically (temporary file, fsync, rename) with mode 0600, in a
 * 0700 directory: the local credentials, policy and runtime files hold secrets, if only local ones.
 */
export async function writePrivateJsonFile(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, {
    encoding: 'utf8',
    mode: 0o600,
    fsync: true,
  });
}
