import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/** The part of dynalite's (untyped, CommonJS) API we use. */
type DynaliteFactory = (options: {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

/** A dynalite (DynamoDB-compatible store) listening on loopback. */
export interface EmbeddedDynalite {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Closes the server and its keep-alive sockets. */
  stop(): Promise<void>;
}

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

/**
 * Starts dynalite on 127.0.0.1 with a port chosen by the OS: in memory, or persisted under `path` (a
 * LevelDB directory only one process may open). Tables become ACTIVE at once.
 */
export async function startEmbeddedDynalite(
  options: { readonly path?: string } = {},
): Promise<EmbeddedDynalite> {
  silenceDynaliteDeprecation();
  const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;
  const server = dynalite({
    ...(options.path === undefined ? {} : { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      // Keep-alive sockets would otherwise hold close() open until dynalite's own shutdown timeout.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
