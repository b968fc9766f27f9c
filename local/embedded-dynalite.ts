/**
 * dynalite (a DynamoDB-compatible store) for local mode and tests, closed to everyone but its owner.
 * dynalite itself accepts any signature, so it listens only on a unix socket in a fresh 0700 directory;
 * the TCP endpoint on 127.0.0.1 is a guard that checks SigV4 (service `dynamodb`) against a random
 * credential made for this start and forwards only requests signed with it. Without it any local user
 * could `Scan` the cached tokens and bypass the policy.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { Agent, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secureDataDir } from './data-dir.js';
import {
  closeServer,
  createLimitedServer,
  DEFAULT_HTTP_LIMITS,
  listenOnLoopback,
  readBodyUpTo,
} from './http-guard.js';
import { createSigV4Verifier } from './sigv4-verifier.js';

/** How long requests already inside dynalite may run when it stops (see closeServer). */
const STORE_CLOSE_GRACE_MS = 2_000;
/** How long operations queued inside dynalite may run after its clients hang up, before it closes. */
const STORE_SETTLE_MS = 250;
/** The part of dynalite's (untyped, CommonJS) API we use. */
type DynaliteFactory = (options: {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

/** The credential a store client must sign with: random per start, never written anywhere but 0600 files. */
export interface StoreCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A guarded dynalite. */
export interface EmbeddedDynalite {
  /** `http://127.0.0.1:<port>`: the guard (or dynalite itself when `access: 'open'`). */
  readonly endpoint: string;
  /** Sign with these (region us-east-1), or be refused. */
  readonly credentials: StoreCredentials;
  /**
   * dynalite's own unix socket, in a fresh 0700 directory: how the vendor and the `--local` CLI reach it
   * (local/store-socket.ts), so strangers filling the guard's connections cannot cut them off. Absent with
   * `access: 'open'`.
   */
  readonly socketPath?: string;
  /** Closes the guard, dynalite and its keep-alive sockets. */
  stop(): Promise<void>;
}

/** The region store requests must be signed for. */
export const STORE_REGION = 'us-east-1';
/**
 * Largest store request read before its signature is checked. DynamoDB allows 16 MiB (BatchWriteItem);
 * the vendor's requests are single small items (a token record is well under 4 KiB), and any local user
 * can reach the guard, so it buffers little for strangers.
 */
const MAX_STORE_REQUEST_BYTES = 1024 * 1024;

let warningFilterInstalled = false;

/** dynalite touches the deprecated `OutgoingMessage._headers` (DEP0066): drop only that warning, once. */
function silenceDynaliteDeprecation(): void {
  if (warningFilterInstalled) return;
  warningFilterInstalled = true;
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const options = rest[0];
    const code =
      typeof options === 'object' && options !== null ? (options as { code?: unknown }).code : rest[1];
    if (code === 'DEP0066') return;
    (emitWarning as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** DynamoDB's answer to a request it cannot authenticate: 400 with the exception type. */
const refuse = (res: ServerResponse, type: string, message: string): void => {
  const body = JSON.stringify({ __type: `com.amazon.coral.service#${type}`, message });
  res.writeHead(400, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
};

/** Options of {@link startEmbeddedDynalite}. */
export interface EmbeddedDynaliteOptions {
  /** LevelDB directory to persist to. @default in memory */
  readonly path?: string;
  /**
   * `signed` (default): behind the SigV4 guard. `open`: dynalite straight on a loopback port, accepting any
   * signature; only for throwaway in-memory stores in tests and benchmarks, never for local mode's data.
   */
  readonly access?: 'signed' | 'open';
}

const randomCredentials = (): StoreCredentials => ({
  accessKeyId: `STORE${randomBytes(10).toString('hex').toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString('base64url'),
});

/**
 * Starts dynalite behind its guard: in memory, or persisted under `path` (a LevelDB directory only one
 * process may open). Tables become ACTIVE at once.
 */
export async function startEmbeddedDynalite(
  options: EmbeddedDynaliteOptions = {},
): Promise<EmbeddedDynalite> {
  silenceDynaliteDeprecation();
  // LevelDB would create its directory with the process umask (often 0755): create it private first.
  if (options.path !== undefined) await mkdir(options.path, { recursive: true, mode: 0o700 });
  const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;
  const store = dynalite({
    ...(options.path === undefined ? {} : { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const stopStore = async (): Promise<void> => {
    // Closes the keep-alive sockets too: they would otherwise hold close() open until dynalite's own
    // shutdown timeout.
    await closeServer(store, STORE_CLOSE_GRACE_MS);
    // The files LevelDB wrote while open carry the process umask: make them 0600 (the CLI and tests
    // open persisted stores too, not only npm start, which runs with umask 077).
    if (options.path !== undefined) await secureDataDir(options.path);
  };
  if (options.access === 'open') {
    const port = await listenOnLoopback(store, 0, 'embedded store');
    return {
      endpoint: `http://127.0.0.1:${port}`,
      credentials: randomCredentials(),
      stop: stopStore,
    };
  }
  // mkdtemp makes the directory 0700: only this user can connect to the socket inside. A short path under
  // tmpdir, because a unix socket path is limited to about 100 bytes.
  const socketDir = await mkdtemp(join(tmpdir(), 'mtv-store-'));
  const socketPath = join(socketDir, 'dynalite.sock');
  await new Promise<void>((resolve, reject) => {
    store.once('error', reject);
    store.listen(socketPath, () => {
      store.off('error', reject);
      resolve();
    });
  });

  const credentials = randomCredentials();
  const verifier = createSigV4Verifier({
    service: 'dynamodb',
    region: STORE_REGION,
    lookupKey: (id) => (id === credentials.accessKeyId ? credentials : undefined),
  });
  const agent = new Agent({ keepAlive: true });

  const limits = { ...DEFAULT_HTTP_LIMITS, maxConnections: 128, maxBodyBytes: MAX_STORE_REQUEST_BYTES };
  const guard = createLimitedServer(limits, async (req, res) => {
    try {
      const body = await readBodyUpTo(req, limits.maxBodyBytes);
      if (body === undefined) {
        res.writeHead(413, { connection: 'close' }).end();
        return;
      }
      const target = req.url ?? '/';
      const questionMark = target.indexOf('?');
      const verified = await verifier.verify({
        method: req.method ?? 'POST',
        path: questionMark === -1 ? target : target.slice(0, questionMark),
        rawQuery: questionMark === -1 ? '' : target.slice(questionMark + 1),
        headers: req.headers,
        body,
      });
      if (!verified.ok) return refuse(res, verified.errorType, verified.message);
      const forward = httpRequest(
        { socketPath, agent, method: req.method, path: target, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => {
        if (!res.headersSent) refuse(res, 'InternalServerError', 'store unavailable');
        else res.destroy();
      });
      forward.end(body);
    } catch {
      if (!res.headersSent) refuse(res, 'InternalServerError', 'store guard failed');
      else res.destroy();
    }
  });
  const port = await listenOnLoopback(guard, 0, 'embedded store guard');

  return {
    endpoint: `http://127.0.0.1:${port}`,
    credentials,
    socketPath,
    async stop() {
      await closeServer(guard);
      agent.destroy();
      // Closing the guard hangs up on dynalite, whose handlers may still hold queued operations: let them run
      // before dynalite closes its database (else an uncaught "Database is closed").
      await new Promise((settled) => setTimeout(settled, STORE_SETTLE_MS));
      await stopStore();
      await rm(socketDir, { recursive: true, force: true });
    },
  };
}
