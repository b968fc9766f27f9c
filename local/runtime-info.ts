/**
 * Where local mode keeps its data, and the `runtime.json` a running `npm start` writes so other
 * processes (the operator CLI with `--local`) use its store instead of opening the same leveldb
 * (only one process may open it).
 */
import { statSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../functions/adapters/errno.js';
import { writePrivateJsonFile } from '../functions/adapters/private-json-file.js';
import { readTrustedFile, UntrustedPathError } from './file-trust.js';

/** Local mode's data directory, relative to the working directory. */
export const DEFAULT_LOCAL_DATA_DIR = '.local';
/** Token table name of local mode (the local server and the CLI both use it). */
export const LOCAL_TABLE_NAME = 'marketo-token-vendor-local';
/** File names inside the data directory. */
export const RUNTIME_INFO_FILE = 'runtime.json';
export const LOCAL_CREDENTIALS_FILE = 'credentials.json';
export const LOCAL_DYNALITE_DIR = 'dynalite';

/** What a running local server publishes about itself. */
export interface RuntimeInfo {
  /** Process id of the server; the file is stale when no such process is alive. */
  readonly pid: number;
  /** `http://127.0.0.1:<port>` of its dynalite (the SigV4 guard in front of it). */
  readonly dynamoEndpoint: string;
  /**
   * The unix socket of its dynalite, in a 0700 directory of the user who started it: how the vendor and the
   * `--local` CLI reach the store (local/store-socket.ts). Absent when the store is an external endpoint.
   */
  readonly storeSocket?: string;
  /** The per-start credential the store's guard accepts (this file is 0600 in a 0700 directory). */
  readonly dynamoCredentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly tableName: string;
  /** Absolute path of the credentials file it reads. */
  readonly credentialsFile: string;
  /** Base URL of the embedded Marketo simulator, when it runs one. */
  readonly simulatorUrl?: string;
  /** Base URL of the local token API. */
  readonly apiUrl: string;
  /** The region requests to the API are signed for. @default 'us-east-1' (files of older versions lack it) */
  readonly region?: string;
}

/** Paths of local mode's files under `dataDir`. */
export const localPaths = (dataDir: string) => ({
  runtimeInfo: join(dataDir, RUNTIME_INFO_FILE),
  credentialsFile: join(dataDir, LOCAL_CREDENTIALS_FILE),
  dynaliteDir: join(dataDir, LOCAL_DYNALITE_DIR),
});

/** Writes `runtime.json` atomically (temporary file + rename), mode 0600. */
export async function writeRuntimeInfo(dataDir: string, info: RuntimeInfo): Promise<void> {
  await writePrivateJsonFile(localPaths(dataDir).runtimeInfo, info);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

/**
 * Reads `runtime.json`; `undefined` when it is missing or unreadable (a half-written or foreign file is
 * treated as absent: the caller then opens the store itself, which fails loudly if it is really in use).
 */
export async function readRuntimeInfo(dataDir: string): Promise<RuntimeInfo | undefined> {
  // Another user's (or a writable) runtime.json could send the CLI to their store: refused, not ignored.
  const read = await readTrustedFile(localPaths(dataDir).runtimeInfo, 'runtime file').catch(
    (error: unknown) => {
      if (error instanceof UntrustedPathError) throw error;
      return undefined;
    },
  );
  if (read === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(read.text);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  const {
    pid,
    dynamoEndpoint,
    storeSocket,
    tableName,
    credentialsFile,
    simulatorUrl,
    apiUrl,
    region,
    dynamoCredentials,
  } = parsed;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  if (!nonEmpty(dynamoEndpoint) || !nonEmpty(tableName) || !nonEmpty(credentialsFile) || !nonEmpty(apiUrl)) {
    return undefined;
  }
  return {
    pid,
    dynamoEndpoint,
    tableName,
    credentialsFile,
    apiUrl,
    ...(nonEmpty(storeSocket) ? { storeSocket } : {}),
    ...(nonEmpty(simulatorUrl) ? { simulatorUrl } : {}),
    ...(nonEmpty(region) ? { region } : {}),
    ...(isRecord(dynamoCredentials) &&
    nonEmpty(dynamoCredentials.accessKeyId) &&
    nonEmpty(dynamoCredentials.secretAccessKey)
      ? {
          dynamoCredentials: {
            accessKeyId: dynamoCredentials.accessKeyId,
            secretAccessKey: dynamoCredentials.secretAccessKey,
          },
        }
      : {}),
  };
}

/** Removes `runtime.json` (on server shutdown); a missing file is fine. */
export async function removeRuntimeInfo(dataDir: string): Promise<void> {
  await unlink(localPaths(dataDir).runtimeInfo).catch((error: unknown) => {
    if (errnoCode(error) !== 'ENOENT') throw error;
  });
}

/**
 * Whether a process with this id runs as this user. After a crash the id in `runtime.json` may belong to
 * anyone's new process: another user's (signal 0 answers EPERM; as root it does not, so the owner of
 * `/proc/<pid>` is asked where there is one) counts as gone.
 */
export function isOwnProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    // ESRCH: no such process. EPERM: another user's.
    return false;
  }
  const uid = process.getuid?.();
  if (uid === undefined) return true;
  try {
    return statSync(`/proc/${pid}`).uid === uid;
  } catch {
    // No /proc (macOS): signal 0 succeeding means the process is ours, unless we are root; the CLI then
    // still talks only to a store socket of its own (local/store-socket.ts).
    return true;
  }
}

/** `runtime.json` of a server that is still running as this user, else `undefined`. */
export async function readLiveRuntimeInfo(dataDir: string): Promise<RuntimeInfo | undefined> {
  const info = await readRuntimeInfo(dataDir);
  return info !== undefined && isOwnProcessAlive(info.pid) ? info : undefined;
}
