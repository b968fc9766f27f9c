import { type FileHandle, open, readFile, stat } from 'node:fs/promises';
import { isValidClientId } from '../contract/index.js';
import { parseCredentialsRecord } from '../core/credentials-record.js';
import {
  CredentialsMisconfiguredError,
  CredentialsUnavailableError,
  UnknownClientError,
} from '../core/errors.js';
import { assertValidClientId } from '../core/ids.js';
import type { ClientCredentials, CredentialsSource, Logger, RegisteredClient } from '../core/ports.js';
import { errnoCode } from './errno.js';
import { withFileLock, writePrivateJsonFile } from './private-json-file.js';

/** The local credentials file: `{"clients": [{clientId, clientSecret, identityUrl, restUrl?, instance?}, …]}`. */
export interface CredentialsFile {
  readonly clients: readonly ClientCredentials[];
}

/** Options for {@link FileCredentials}. */
export interface FileCredentialsOptions {
  /** Path of the JSON credentials file. A missing file means no clients are registered. */
  readonly path: string;
  /** Told about unusable entries (file and entry index, never a value). @default - silent */
  readonly logger?: Logger;
  /**
   * Checks the opened file each time it is (re)loaded, before it is read; throwing refuses it (every client
   * is then unavailable until it passes). Local mode refuses another user's file, or one others can write
   * (local/file-trust.ts). @default - none
   */
  readonly verifyFile?: (path: string, handle: FileHandle) => Promise<void>;
}

/** One load of the file: per client either usable credentials or the reason they are not. */
interface Snapshot {
  /** mtime, size and inode: an atomic replace changes the inode even within one mtime tick. */
  readonly key: string;
  readonly clients: ReadonlyMap<string, ClientCredentials | CredentialsMisconfiguredError>;
  /** Entries that cannot be tied to a client id (no or invalid `clientId`), as `clients[i]`. */
  readonly orphans: readonly string[];
  /** The whole file is unusable (not JSON, no `clients` array). */
  readonly fileError?: CredentialsMisconfiguredError;
}

const MISSING = 'missing';

/**
 * `CredentialsSource` for local mode, backed by a JSON file that is re-read whenever it changes, so
 * editing it needs no restart. Entries are validated like secrets; a bad entry is reported only when
 * its client is asked for and never hides the good ones.
 */
export class FileCredentials implements CredentialsSource {
  private readonly path: string;
  private readonly logger?: Logger;
  private readonly verifyFile?: (path: string, handle: FileHandle) => Promise<void>;
  private snapshot?: Snapshot;
  private loading?: Promise<Snapshot>;

  constructor(options: FileCredentialsOptions) {
    this.path = options.path;
    this.logger = options.logger;
    this.verifyFile = options.verifyFile;
  }

  async get(clientId: string, options: { readonly bypassCache?: boolean } = {}): Promise<ClientCredentials> {
    const snapshot = await this.load(options.bypassCache === true);
    if (snapshot.fileError) throw snapshot.fileError;
    const entry = snapshot.clients.get(clientId);
    if (entry instanceof CredentialsMisconfiguredError) throw entry;
    if (entry) return entry;
    const where =
      snapshot.key === MISSING ? `credentials file ${this.path} does not exist` : `not in ${this.path}`;
    const orphans =
      snapshot.orphans.length === 0
        ? ''
        : `; note: ${snapshot.orphans.join(', ')} ha${snapshot.orphans.length === 1 ? 's' : 've'} no valid clientId`;
    throw new UnknownClientError(`no credentials registered for client "${clientId}" (${where}${orphans})`);
  }

  async list(): Promise<RegisteredClient[]> {
    const snapshot = await this.load(false);
    if (snapshot.fileError) throw snapshot.fileError;
    // Misconfigured clients are listed too: the refresher then records their error where operators see it.
    return [...snapshot.clients.entries()]
      .map(([clientId, entry]) =>
        entry instanceof CredentialsMisconfiguredError || entry.instance === undefined
          ? { clientId }
          : { clientId, instance: entry.instance },
      )
      .sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
  }

  /** Returns the current snapshot, re-reading the file when its stat changed (or when forced). */
  private load(force: boolean): Promise<Snapshot> {
    if (this.loading) return this.loading;
    const loading = this.reload(force).finally(() => {
      this.loading = undefined;
    });
    this.loading = loading;
    return loading;
  }

  private async reload(force: boolean): Promise<Snapshot> {
    let text: string;
    let key: string;
    let modifiedAt: number;
    try {
      const handle = await open(this.path, 'r');
      try {
        const info = await handle.stat();
        // ctime too: a chmod or chown must be checked again as well.
        key = `${info.mtimeMs}:${info.ctimeMs}:${info.size}:${info.ino}`;
        modifiedAt = Math.floor(info.mtimeMs);
        if (!force && this.snapshot?.key === key) return this.snapshot;
        if (this.verifyFile) {
          try {
            await this.verifyFile(this.path, handle);
          } catch (error) {
            this.snapshot = undefined;
            throw new CredentialsUnavailableError((error as Error).message, { cause: error });
          }
        }
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (error instanceof CredentialsUnavailableError) throw error;
      if (errnoCode(error) === 'ENOENT') {
        this.snapshot = { key: MISSING, clients: new Map(), orphans: [] };
        return this.snapshot;
      }
      throw new CredentialsUnavailableError(
        `cannot read credentials file ${this.path}: ${errnoCode(error) ?? 'read error'}`,
        { cause: error },
      );
    }
    const parsed = this.parse(text, key);
    // The file's mtime stands for each client's change: a rewrite for another client only lets it be asked sooner.
    const clients = new Map(
      [...parsed.clients].map(([clientId, entry]) => [
        clientId,
        entry instanceof CredentialsMisconfiguredError ? entry : { ...entry, changedAt: modifiedAt },
      ]),
    );
    this.snapshot = { ...parsed, clients };
    return this.snapshot;
  }

  private parse(text: string, key: string): Snapshot {
    const file = `credentials file ${this.path}`;
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      return {
        key,
        clients: new Map(),
        orphans: [],
        fileError: new CredentialsMisconfiguredError(`${file}: not valid JSON`),
      };
    }
    const entries = (document as { clients?: unknown } | null)?.clients;
    if (!Array.isArray(entries)) {
      return {
        key,
        clients: new Map(),
        orphans: [],
        fileError: new CredentialsMisconfiguredError(`${file}: must be an object with a "clients" array`),
      };
    }
    const clients = new Map<string, ClientCredentials | CredentialsMisconfiguredError>();
    const firstIndex = new Map<string, number>();
    const orphans: string[] = [];
    entries.forEach((entry: unknown, index) => {
      const where = `${file} clients[${index}]`;
      const clientId = (entry as { clientId?: unknown } | null)?.clientId;
      if (!isValidClientId(clientId)) {
        orphans.push(`clients[${index}]`);
        this.logger?.warn('credentials file entry has no valid clientId', { file: this.path, entry: index });
        return;
      }
      const previous = firstIndex.get(clientId);
      if (previous !== undefined) {
        clients.set(
          clientId,
          new CredentialsMisconfiguredError(
            `${file}: clients[${previous}] and clients[${index}] both register "${clientId}"`,
          ),
        );
        return;
      }
      firstIndex.set(clientId, index);
      try {
        clients.set(clientId, parseCredentialsRecord(entry, clientId, where));
      } catch (error) {
        if (!(error instanceof CredentialsMisconfiguredError)) throw error;
        clients.set(clientId, error);
        // The message names the field only (parseCredentialsRecord never echoes values).
        this.logger?.warn('credentials file entry unusable', {
          file: this.path,
          entry: index,
          reason: error.message,
        });
      }
    });
    return { key, clients, orphans };
  }
}

/**
 * Writes the credentials file atomically: a private temporary file (mode 0600) in the same directory,
 * flushed, then renamed over the target, so readers never see half a file and secrets are never
 * world-readable.
 */
export async function writeCredentialsFile(
  path: string,
  file: CredentialsFile | { clients: unknown[] },
): Promise<void> {
  await writePrivateJsonFile(path, file);
}

/** Reads the file's raw document for editing; a missing file is an empty one. Refuses to edit a broken file. */
async function readForEdit(path: string): Promise<{ clients: unknown[] } & Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { clients: [] };
    throw error;
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new CredentialsMisconfiguredError(
      `credentials file ${path}: not valid JSON; fix it before editing`,
    );
  }
  const clients = (document as { clients?: unknown } | null)?.clients;
  if (!Array.isArray(clients)) {
    throw new CredentialsMisconfiguredError(
      `credentials file ${path}: must be an object with a "clients" array`,
    );
  }
  return { ...(document as Record<string, unknown>), clients };
}

const sameClient = (entry: unknown, clientId: string): boolean =>
  (entry as { clientId?: unknown } | null)?.clientId === clientId;

/** The fields of a credentials record; an entry's other fields (local mode's `simulatedRole`) are its own. */
const RECORD_FIELDS: ReadonlySet<string> = new Set([
  'clientId',
  'clientSecret',
  'identityUrl',
  'restUrl',
  'instance',
]);

/** The fields of an entry that are not part of the credentials record, kept across an update. */
const extraFieldsOf = (entry: unknown): Record<string, unknown> =>
  typeof entry === 'object' && entry !== null
    ? Object.fromEntries(Object.entries(entry).filter(([key]) => !RECORD_FIELDS.has(key)))
    : {};

/**
 * Adds or replaces one client in the credentials file (atomically; other entries, even bad ones, are
 * kept as they are, and so are the replaced entry's fields outside the record, such as `simulatedRole`).
 * The record is validated first. Safe against concurrent writers, in this process or others: the
 * read-modify-write holds the file's lock.
 */
export async function upsertClient(path: string, record: ClientCredentials): Promise<'created' | 'updated'> {
  assertValidClientId(record.clientId);
  const valid = parseCredentialsRecord(record, record.clientId, `client "${record.clientId}"`);
  return withFileLock(path, async () => {
    const document = await readForEdit(path);
    const index = document.clients.findIndex((entry) => sameClient(entry, valid.clientId));
    const clients = [...document.clients];
    if (index === -1) clients.push(valid);
    else clients[index] = { ...extraFieldsOf(clients[index]), ...valid };
    await writeCredentialsFile(path, { ...document, clients });
    return index === -1 ? 'created' : 'updated';
  });
}

/** Removes a client from the credentials file (holding its lock); false when it was not there. */
export async function removeClient(path: string, clientId: string): Promise<boolean> {
  return withFileLock(path, async () => {
    const document = await readForEdit(path);
    const clients = document.clients.filter((entry) => !sameClient(entry, clientId));
    if (clients.length === document.clients.length) return false;
    await writeCredentialsFile(path, { ...document, clients });
    return true;
  });
}

/** Creates the credentials file with `file` unless it exists (holding its lock); whether it did. */
export async function createCredentialsFileIfMissing(path: string, file: CredentialsFile): Promise<boolean> {
  return withFileLock(path, async () => {
    if (await credentialsFileExists(path)) return false;
    await writeCredentialsFile(path, file);
    return true;
  });
}

/** Whether a credentials file exists at `path` (local mode seeds demo credentials when it does not). */
export async function credentialsFileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}
