/**
 * Local mode's data directory holds client secrets, the policy's keys and dynalite's copy of every cached
 * token. It must be this user's own (local/file-trust.ts): one that another user owns or can write, or that
 * is reached through their symbolic link, is refused with what to do. Within it, what others could read is
 * made private on every start and every CLI run: the directory 0700, every file 0600 (dynalite and a user's
 * editor may create files 0644).
 */
import { chmod, lstat, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../functions/adapters/errno.js';
import { assertOwnPrivateEntry, assertTrustedWay, UntrustedPathError } from './file-trust.js';
import { LOCAL_CREDENTIALS_FILE } from './runtime-info.js';

/** What {@link secureDataDir} found and changed. */
export interface DataDirRepair {
  /** The directory's real location (a symbolic link resolved). */
  readonly realPath: string;
  /** Paths whose mode was tightened, relative to the data directory ('' is the directory itself). */
  readonly tightened: readonly string[];
  /** Warnings worth printing (e.g. a credentials file others could read until now). */
  readonly warnings: readonly string[];
}

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/** `false` for an entry that no longer exists (ENOENT); any other failure is thrown. */
const vanished = (error: unknown): false => {
  if (errnoCode(error) === 'ENOENT') return false;
  throw error;
};

/**
 * Creates `dataDir` (0700) if needed, refuses it (`UntrustedPathError`) when another user owns or can write
 * it, anything in it, or a symbolic link on the way, and makes every directory in it 0700 and every file
 * 0600. Symbolic links inside are checked like the directory (their targets must be this user's and
 * writable by nobody else) but neither followed nor changed.
 */
export async function secureDataDir(dataDir: string): Promise<DataDirRepair> {
  const what = `data directory ${dataDir}`;
  // Before creating anything: never create the directory inside someone else's.
  await assertTrustedWay(dataDir, what);
  await mkdir(dataDir, { recursive: true, mode: PRIVATE_DIR });
  const realPath = await assertTrustedWay(dataDir, what);
  if (!(await stat(realPath)).isDirectory()) throw new UntrustedPathError(`${what} is not a directory`);

  const tightened: string[] = [];
  const warnings: string[] = [];
  const visit = async (path: string, relative: string): Promise<void> => {
    const info = await lstat(path).catch(() => undefined);
    if (!info) return;
    const shown = `${relative === '' ? dataDir : join(dataDir, relative)}`;
    if (info.isSymbolicLink()) {
      await assertTrustedWay(path, shown);
      const target = await stat(path).catch(() => undefined);
      if (target) assertOwnPrivateEntry(target, `${shown} (a symbolic link)`);
      return;
    }
    assertOwnPrivateEntry(info, relative === '' ? what : `${shown} in the data directory`);
    const wanted = info.isDirectory() ? PRIVATE_DIR : PRIVATE_FILE;
    const mode = info.mode & 0o777;
    if ((info.isDirectory() || info.isFile()) && (mode & 0o077) !== 0) {
      // Another CLI run's lock directory comes and goes: gone since the lstat, it has nothing to tighten.
      if (!(await chmod(path, wanted).then(() => true, vanished))) return;
      tightened.push(relative);
      if (relative === LOCAL_CREDENTIALS_FILE) {
        warnings.push(
          `${shown} was readable by other users (mode ${mode.toString(8)}); it holds client secrets: now 0600. Rotate the secrets if others may have read them.`,
        );
      }
    }
    if (info.isDirectory()) {
      const entries = await readdir(path).catch(() => [] as string[]);
      for (const entry of entries)
        await visit(join(path, entry), relative === '' ? entry : join(relative, entry));
    }
  };
  await visit(realPath, '');
  return { realPath, tightened, warnings };
}
