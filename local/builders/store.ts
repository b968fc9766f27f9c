/**
 * Local mode's store: the token table, and the budget table beside it, on embedded dynalite persisted under
 * the data directory or on a store that already runs (`npm start`'s, named in `runtime.json`, or the
 * `AWS_ENDPOINT_URL_DYNAMODB` endpoint). Built the same way by `npm start` and the `--local` CLI.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createBudgetTable, DynamoBudgetStore } from '../../functions/adapters/dynamo-budget-store.js';
import { DynamoBulkSlotStore } from '../../functions/adapters/dynamo-bulk-slot-store.js';
import { createTokenTable, DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { STORE_REGION, type StoreCredentials, startEmbeddedDynalite } from '../embedded-dynalite.js';
import { storeClientOverSocket } from '../store-socket.js';

/** Options of {@link buildStore}. */
export interface LocalStoreOptions {
  /** Where embedded dynalite keeps its data; started only when no {@link endpoint} is given. */
  readonly dynaliteDir: string;
  /** A store that already runs. @default embedded dynalite on {@link dynaliteDir} */
  readonly endpoint?: string;
  /**
   * The unix socket of a running local store (`npm start`'s, from `runtime.json`), already proven to be this
   * user's (local/store-socket.ts): used instead of {@link endpoint}. @default embedded dynalite's own socket
   */
  readonly socket?: string;
  /**
   * What to sign store requests with (region us-east-1): the credential a running dynalite's guard accepts.
   * @default embedded dynalite's own credential; for another {@link endpoint}, the SDK's default chain and region
   */
  readonly credentials?: StoreCredentials;
  readonly tableName: string;
  /** Whether to create the token table when it is missing (another endpoint must have it already). @default true */
  readonly createTable?: boolean;
  /** How long the token table may take to become active. @default createTokenTable's */
  readonly createTableTimeoutMs?: number;
}

/** An open local store; `close()` releases the client and stops embedded dynalite. */
export interface LocalStore {
  readonly client: DynamoDBClient;
  /** Where the store listens. */
  readonly endpoint: string;
  /** Embedded dynalite, when this store started one: the credential its guard accepts, and its socket. */
  readonly embedded?: { readonly credentials: StoreCredentials; readonly socketPath?: string };
  readonly tokens: DynamoTokenStore;
  /** The Marketo API budget's table (created when missing) on the same store. */
  budgetStore(tableName: string): Promise<DynamoBudgetStore>;
  /** The Bulk API slots' items in that budget table (created when missing). */
  bulkSlotStore(tableName: string): Promise<DynamoBulkSlotStore>;
  close(): Promise<void>;
}

/** Opens the store: starts embedded dynalite unless an endpoint is given, then creates the token table. */
export async function buildStore(options: LocalStoreOptions): Promise<LocalStore> {
  const embedded =
    options.endpoint === undefined && options.socket === undefined
      ? await startEmbeddedDynalite({ path: options.dynaliteDir })
      : undefined;
  const endpoint = options.endpoint ?? (embedded?.endpoint as string);
  // A local store is reached through its private socket, never its TCP guard: strangers can fill the guard's
  // connections, and a stale runtime.json's port may be anyone's by now (local/store-socket.ts).
  const socket = options.socket ?? embedded?.socketPath;
  const credentials = options.credentials;
  const client =
    socket === undefined
      ? new DynamoDBClient({
          endpoint,
          ...(credentials === undefined ? {} : { region: STORE_REGION, credentials }),
          maxAttempts: 2,
        })
      : storeClientOverSocket(socket);
  const close = async (): Promise<void> => {
    client.destroy();
    await embedded?.stop(); // which also makes LevelDB's files 0600
  };
  if (options.createTable !== false) {
    try {
      await createTokenTable(
        client,
        options.tableName,
        options.createTableTimeoutMs === undefined ? {} : { timeoutMs: options.createTableTimeoutMs },
      );
    } catch (error) {
      await close();
      throw error;
    }
  }
  return {
    client,
    endpoint,
    ...(embedded === undefined
      ? {}
      : {
          embedded: {
            credentials: embedded.credentials,
            ...(embedded.socketPath === undefined ? {} : { socketPath: embedded.socketPath }),
          },
        }),
    tokens: new DynamoTokenStore({ client, tableName: options.tableName }),
    async budgetStore(tableName) {
      await createBudgetTable(client, tableName);
      return new DynamoBudgetStore({ client, tableName });
    },
    async bulkSlotStore(tableName) {
      await createBudgetTable(client, tableName);
      return new DynamoBulkSlotStore({ client, tableName });
    },
    close,
  };
}
