/**
 * Local mode's data directory holds client secrets, the policy's keys and dynalite's copy of every cached
 * token. It is created, or repaired, as 0700 with 0600 files on every start and every CLI run, so no
 * other user of a shared machine can read it (dynalite and a user's editor may create files 0644).
 */
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LOCAL_CREDENTIALS_FILE } from './runtime-info.js';

/** What {@link secureDataDir} found and changed. */
export interface DataDirRepair {
  /** Paths whose mode was tightened, relative to the data directory ('' is the directory itself). */
  readonly tightened: readonly string[];
  /** Warnings worth printing (e.g. a credentials file others could read until now). */
  readonly warnings: readonly string[];
}

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/**
 * Creates `dataDir` (0700) if needed and makes every directory in it 0700 and every file 0600. Symbolic
 * links are left alone (chmod would follow them out of the directory). Only the owner can chmod, so a
 * file owned by someone else is reported, not fixed.
 */
export async function secureDataDir(dataDir: string): Promise<DataDirRepair> {
  await mkdir(dataDir, { recursive: true, mode: PRIVATE_DIR });
  const tightened: string[] = [];
  const warnings: string[] = [];

  const visit = async (path: string, relative: string): Promise<void> => {
    const info = await lstat(path).catch(() => undefined);
    if (!info || info.isSymbolicLink()) return;
    const wanted = info.isDirectory() ? PRIVATE_DIR : PRIVATE_FILE;
    const mode = info.mode & 0o777;
    if ((info.isDirectory() || info.isFile()) && (mode & 0o077) !== 0) {
      try {
        await chmod(path, wanted);
        tightened.push(relative);
        if (relative === LOCAL_CREDENTIALS_FILE) {
          warnings.push(
            `${path} was readable by other users (mode ${mode.toString(8)}); it holds client secrets: now 0600. Rotate the secrets if others may have read them.`,
          );
        }
      } catch {
        warnings.push(`${path} has mode ${mode.toString(8)} and could not be made private (not yours?)`);
      }
    }
    if (info.isDirectory()) {
      const entries = await readdir(path).catch(() => [] as string[]);
      for (const entry of entries)
        await visit(join(path, entry), relative === '' ? entry : join(relative, entry));
    }
  };
  await visit(dataDir, '');
  return { tightened, warnings };
}
