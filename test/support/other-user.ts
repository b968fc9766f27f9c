/**
 * A second, real user of this machine for the tests of what local mode trusts on a shared machine (issue 23):
 * files and directories it owns, processes it runs. Made with `useradd` when the test runs as root (and
 * removed again with `userdel`), acted as with `setpriv`. Where that is not possible (not root, no useradd or
 * setpriv) the tests skip with the reason printed (`secondUserSkipReason`); under CI=true they fail instead.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chown, lchown } from 'node:fs/promises';
import { announce } from './announce.js';

/** The second user. */
export interface OtherUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** Makes `path` (not following a symbolic link) this user's. */
  own(path: string): Promise<void>;
  /** Runs `command args` as this user (same process id: setpriv executes it in place). */
  spawn(command: string, args: readonly string[]): ChildProcess;
  /** Removes the user if this run created it. */
  remove(): void;
}

const which = (command: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** Why no second user can be had here, or `undefined` when one can. */
export function otherUserUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not running as root, so no second user can be created';
  for (const tool of ['useradd', 'userdel', 'setpriv']) {
    if (!which(tool)) return `${tool} is not installed`;
  }
  return undefined;
}

const idOf = (flag: '-u' | '-g', name: string): number =>
  Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());

/** Creates (or reuses) the second user `mtv-<pid>`; see {@link secondUserSkipReason}. */
export function createOtherUser(): OtherUser {
  const name = `mtv-${process.pid}`;
  let created = false;
  try {
    idOf('-u', name);
  } catch {
    execFileSync('useradd', [
      '--system',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      '--user-group',
      name,
    ]);
    created = true;
  }
  const uid = idOf('-u', name);
  const gid = idOf('-g', name);
  return {
    name,
    uid,
    gid,
    own: (path) => lchown(path, uid, gid).catch(() => chown(path, uid, gid)),
    spawn: (command, args) =>
      spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', command, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    remove() {
      if (created) execFileSync('userdel', [name]);
      created = false;
    },
  };
}

const warned = new Set<string>();

/**
 * Why tests that need a second user must skip here, or `undefined` when they can run:
 * `describe.skipIf(secondUserSkipReason('…') !== undefined)('…', …)`. The reason is printed; under CI=true,
 * where the machine must allow a second user, it throws instead.
 */
export function secondUserSkipReason(title: string): string | undefined {
  const reason = otherUserUnavailable();
  if (reason === undefined) return undefined;
  if (process.env.CI === 'true') {
    throw new Error(`${title}: needs a second user, but ${reason} (required under CI=true)`);
  }
  if (!warned.has(title)) announce(`skipping "${title}": needs a second user, but ${reason}`);
  warned.add(title);
  return reason;
}
