import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTokenTable } from '../../functions/adapters/dynamo-token-store.js';

// The SDK warns once per process that Node 20 support ends; it is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// dynalite touches the deprecated `OutgoingMessage._headers` (DEP0066); drop only that warning.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const options = rest[0];
  const code =
    typeof options === 'object' && options !== null ? (options as { code?: unknown }).code : rest[1];
  if (code === 'DEP0066') return;
  (emitWarning as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

/** The part of dynalite's (untyped, CommonJS) API we use. */
type DynaliteFactory = (options: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as DynaliteFactory;

/** A running in-memory dynalite on loopback. */
export interface RunningDynalite {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** A real DynamoDB client pointed at it, with dummy credentials, region us-east-1. */
  readonly client: DynamoDBClient;
  /** Destroys the client and closes the server. */
  stop(): Promise<void>;
}

/** Starts dynalite in memory on 127.0.0.1 with a port chosen by the OS. Tables become ACTIVE at once. */
export async function startDynalite(): Promise<RunningDynalite> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  return {
    endpoint,
    client,
    async stop() {
      client.destroy();
      // Keep-alive sockets would otherwise hold close() open until dynalite's own shutdown timeout.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let tableCounter = 0;

/** Creates a token table (a fresh name unless given) and returns its name. */
export async function createTestTable(client: DynamoDBClient, name?: string): Promise<string> {
  tableCounter += 1;
  const tableName = name ?? `tokens-${process.pid}-${tableCounter}`;
  await createTokenTable(client, tableName);
  return tableName;
}
