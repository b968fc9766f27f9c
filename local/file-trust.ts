/**
 * Whose directories and files local mode trusts. On a shared machine another user must not decide who gets
 * a token: whoever can write the data directory, `policy.json`, `credentials.json` or `runtime.json` can
 * grant themselves every client, swap the Marketo secrets or point the CLI at a store of their own. So a
 * path is trusted only when
 *
 * - the directory or file itself is owned by the user running local mode and writable by nobody else
 *   (group or others);
 * - every symbolic link on the way to it is owned by that user or root (the owner of a link can re-point it);
 * - every directory above it is owned by that user or root, and not writable by others unless sticky (as
 *   /tmp is): otherwise its owner could rename the data directory away and put their own in its place.
 *
 * Otherwise local mode refuses, with what to do. Files are checked each time they are (re)loaded, not only
 * at start. On systems without user ids (Windows) nothing is checked.
 */
import type { Stats } from 'node:fs';
import { type FileHandle, lstat, open, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, parse, resolve, sep } from 'node:path';
import { errnoCode } from '../functions/adapters/errno.js';

/** A directory or file another user could control: local mode refuses to use it. */
export class UntrustedPathError extends Error {
  override readonly name = 'UntrustedPathError';
  readonly code = 'UntrustedPath';
}

const STICKY = 0o1000;
const ROOT = 0;

/** The user id local mode runs as; `undefined` where there are none (Windows). */
const currentUid = (): number | undefined => process.getuid?.();

/** `path` and every directory above it, top first (`/a/b` → `/`, `/a`, `/a/b`). */
function prefixesOf(path: string): string[] {
  const { root } = parse(path);
  const parts = path.slice(root.length).split(sep).filter(Boolean);
  const prefixes = [root];
  for (const part of parts) prefixes.push(join(prefixes[prefixes.length - 1] as string, part));
  return prefixes;
}

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Checks what the final directory or file itself must satisfy: owned by this user, writable by nobody else.
 * `what` names it in the message ("data directory /x", "policy file /x/policy.json").
 */
export function assertOwnPrivateEntry(info: Stats, what: string): void {
  const uid = currentUid();
  if (uid === undefined) return;
  if (info.uid !== uid) {
    throw new UntrustedPathError(
      `${what} belongs to another user (uid ${info.uid}; you are uid ${uid}): whoever owns it decides who gets a token. Use a directory of your own (--data-dir), or remove it and let local mode create it.`,
    );
  }
  if ((info.mode & 0o022) !== 0) {
    throw new UntrustedPathError(
      `${what} is writable by ${info.mode & 0o002 ? 'other users' : 'its group'} (mode ${octal(info.mode)}): someone else may have changed it. Check its contents, then run chmod go-w on it.`,
    );
  }
}

/**
 * Checks the way to `path`: symbolic links on it owned by this user or root, and directories above its real
 * location owned by this user or root and not writable by others unless sticky. Parts that do not exist yet
 * are skipped (local mode creates them, private). Returns the real path of what exists.
 */
export async function assertTrustedWay(path: string, what: string): Promise<string> {
  const absolute = isAbsolute(path) ? path : resolve(path);
  const uid = currentUid();
  if (uid === undefined) return absolute;
  for (const prefix of prefixesOf(absolute)) {
    const info = await lstat(prefix).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    });
    if (info === undefined) break;
    if (info.isSymbolicLink() && info.uid !== uid && info.uid !== ROOT) {
      throw new UntrustedPathError(
        `${what} is reached through the symbolic link ${prefix}, which belongs to another user (uid ${info.uid}) who can point it anywhere. Use a path without it.`,
      );
    }
  }
  const real = await realpath(absolute).catch(async (error: unknown) => {
    if (errnoCode(error) !== 'ENOENT') throw error;
    // Not created yet: the checks below cover its (existing) parents.
    return join(await realpath(dirname(absolute)).catch(() => dirname(absolute)), parse(absolute).base);
  });
  const ancestors = prefixesOf(real).slice(0, -1);
  for (const ancestor of ancestors) {
    const info = await stat(ancestor).catch(() => undefined);
    if (info === undefined) continue;
    if (info.uid !== uid && info.uid !== ROOT) {
      throw new UntrustedPathError(
        `${what} lies in ${ancestor}, which belongs to another user (uid ${info.uid}) who could replace it. Use a directory of your own (--data-dir).`,
      );
    }
    if ((info.mode & 0o002) !== 0 && (info.mode & STICKY) === 0) {
      throw new UntrustedPathError(
        `${what} lies in ${ancestor}, which every user may write (mode ${octal(info.mode)}, not sticky), so anyone could replace it. Use another directory (--data-dir), or run chmod o-w ${ancestor}.`,
      );
    }
  }
  return real;
}

/**
 * Checks a file local mode is about to use, from the `fstat` of the handle it opened (so what was checked is
 * what is read): the way to it, and the file itself. `what`: e.g. "policy file".
 */
export async function assertTrustedFile(path: string, opened: Stats, what: string): Promise<void> {
  await assertTrustedWay(path, `${what} ${path}`);
  assertOwnPrivateEntry(opened, `${what} ${path}`);
}

/**
 * Opens `path`, checks it as {@link assertTrustedFile} does and reads it; `undefined` when it does not exist.
 * What is read is what was checked (one open file handle).
 */
export async function readTrustedFile(
  path: string,
  what: string,
): Promise<{ readonly text: string; readonly info: Stats } | undefined> {
  const handle = await open(path, 'r').catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  });
  if (handle === undefined) return undefined;
  try {
    const info = await handle.stat();
    await assertTrustedFile(path, info, what);
    return { text: await handle.readFile('utf8'), info };
  } finally {
    await handle.close();
  }
}

/**
 * The check of a secrets file each time it is (re)loaded, for `FileCredentials({ verifyFile })`: refused
 * when another user owns or can write it; made 0600 (with `onRepair` told) when others could read it.
 */
export const privateFileCheck =
  (what: string, onRepair?: (message: string) => void) =>
  async (path: string, handle: FileHandle): Promise<void> => {
    const info = await handle.stat();
    await assertTrustedFile(path, info, what);
    if (currentUid() !== undefined && (info.mode & 0o077) !== 0) {
      await handle.chmod(0o600);
      onRepair?.(
        `${what} ${path} was readable by other users (mode ${octal(info.mode)}); now 0600. Rotate its secrets if others may have read them.`,
      );
    }
  };
