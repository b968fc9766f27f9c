/**
 * The vendor and the `--local` CLI reach dynalite only through its unix socket, in a fresh 0700 directory of
 * the user running local mode. Nobody else can connect to it, so nobody else can fill its connections (the
 * TCP guard's cap of 128 could be filled by any local user, cutting the vendor off from its own store), and
 * a CLI that checks the directory is its own knows it talks to the store its user started, not to whatever
 * another user listens with on a port a stale `runtime.json` still names.
 */

import { lstat } from 'node:fs/promises';
import { Agent } from 'node:http';
import { dirname } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { assertTrustedWay, UntrustedPathError } from './file-trust.js';

/**
 * A DynamoDB client whose every connection goes to the unix socket at `socketPath` (dynalite accepts any
 * signature there: the socket's directory is the access control).
 */
export function storeClientOverSocket(socketPath: string, options: { readonly maxAttempts?: number } = {}) {
  // http.Agent hands its options to net.createConnection, where `socketPath` selects the unix socket.
  const httpAgent = new Agent({ keepAlive: true, socketPath } as ConstructorParameters<typeof Agent>[0]);
  return new DynamoDBClient({
    endpoint: 'http://localhost',
    region: 'us-east-1',
    credentials: { accessKeyId: 'local-socket', secretAccessKey: 'local-socket' },
    requestHandler: { httpAgent },
    maxAttempts: options.maxAttempts ?? 2,
  });
}

/**
 * Refuses (`UntrustedPathError`) a store socket this user did not make: it must be a socket owned by this
 * user, in a directory owned by this user that nobody else may enter.
 */
export async function assertOwnStoreSocket(socketPath: string): Promise<void> {
  const uid = process.getuid?.();
  const directory = dirname(socketPath);
  const what = `store socket ${socketPath}`;
  await assertTrustedWay(directory, what);
  const [dirInfo, socketInfo] = await Promise.all([
    lstat(directory).catch(() => undefined),
    lstat(socketPath).catch(() => undefined),
  ]);
  if (dirInfo === undefined || socketInfo === undefined || !socketInfo.isSocket()) {
    throw new UntrustedPathError(`${what} does not exist (any more)`);
  }
  if (uid === undefined) return;
  if (!dirInfo.isDirectory() || dirInfo.uid !== uid || (dirInfo.mode & 0o077) !== 0) {
    throw new UntrustedPathError(
      `${what} is not in a private directory of yours (${directory}: uid ${dirInfo.uid}, mode ${(dirInfo.mode & 0o777).toString(8)})`,
    );
  }
  if (socketInfo.uid !== uid) {
    throw new UntrustedPathError(`${what} belongs to another user (uid ${socketInfo.uid})`);
  }
}

/**
 * The store socket of the running local vendor `runtime.json` names, once it is proven to be this user's
 * (`runtimePath` is named in the message): a CLI sends nothing, not even a request, before that.
 */
export async function runningStoreSocket(
  running: { readonly pid: number; readonly storeSocket?: string },
  runtimePath: string,
): Promise<string> {
  const refuse = (why: string): never => {
    throw new UntrustedPathError(
      `${runtimePath} names a running local vendor (pid ${running.pid}), but ${why}: nothing was sent to it. If no local vendor of yours runs on this data directory, delete ${runtimePath}; else restart it with this version (npm start).`,
    );
  };
  if (running.storeSocket === undefined) return refuse('it names no store socket to reach it by');
  try {
    await assertOwnStoreSocket(running.storeSocket);
  } catch (error) {
    if (error instanceof UntrustedPathError) refuse(error.message);
    throw error;
  }
  return running.storeSocket;
}
