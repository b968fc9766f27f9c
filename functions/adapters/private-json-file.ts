import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
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

/** Another process held the lock of a file for longer than a read-modify-write takes. */
export class FileLockedError extends Error {
  override readonly name = 'FileLockedError';
  readonly code = 'FileLocked';
}

/** How long to wait for another process's read-modify-write: about 30 s of growing, jittered pauses. */
const LOCK_RETRIES = { retries: 120, factor: 1.1, minTimeout: 10, maxTimeout: 300, randomize: true };
/** A lock not refreshed for this long belongs to a process that died: it is taken over. */
const LOCK_STALE_MS = 10_000;

/**
 * Runs `work` (a read-modify-write of `path`) holding `path`'s lock, across processes: the lock is the
 * directory `<path>.lock`, made with one atomic mkdir (proper-lockfile), refreshed while held and taken over
 * when its holder died. With the write itself atomic (temporary file + rename), no acknowledged write is lost
 * when several `clients add` run at once.
 */
export async function withFileLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(path, {
      realpath: false, // the file itself may not exist yet
      lockfilePath: `${path}.lock`,
      retries: LOCK_RETRIES,
      stale: LOCK_STALE_MS,
    });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ELOCKED') throw error;
    throw new FileLockedError(
      `${path} is being changed by another process (lock ${path}.lock); try again, or remove the lock if no other process runs`,
      { cause: error },
    );
  }
  try {
    return await work();
  } finally {
    await release();
  }
}
