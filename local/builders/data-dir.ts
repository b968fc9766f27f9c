/** Local mode's data directory, claimed for one running vendor and made private before anything opens it. */
import { secureDataDir } from '../data-dir.js';
import { readLiveRuntimeInfo } from '../runtime-info.js';

/** Another local vendor already runs on this data directory (dynalite's store can be opened once). */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
}

/**
 * Refuses a data directory another user controls or another live local vendor uses, else creates or repairs
 * it as 0700 with 0600 files, telling `onEvent` what it changed.
 */
export async function claimDataDir(dataDir: string, onEvent: (message: string) => void): Promise<void> {
  // Refused (UntrustedPathError) when another user owns or can write it (local/file-trust.ts); else created
  // or repaired as 0700 with 0600 files on every start (dynalite and editors may leave 0644).
  const repair = await secureDataDir(dataDir);
  const live = await readLiveRuntimeInfo(dataDir);
  if (live && live.pid !== process.pid) {
    throw new DataDirInUseError(
      `another local vendor (pid ${live.pid}, ${live.apiUrl}) already uses ${dataDir}; stop it or pick another --data-dir`,
    );
  }
  for (const warning of repair.warnings) onEvent(`warning: ${warning}`);
  if (repair.tightened.length > 0) {
    onEvent(`made private (others could read them): ${repair.tightened.map((p) => p || '.').join(', ')}`);
  }
}
