import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTokenTable } from '../functions/adapters/dynamo-token-store.js';
import { startEmbeddedDynalite } from '../local/embedded-dynalite.js';

// The SDK warns once per process that Node 20 support ends; it is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

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
  const { endpoint, stop } = await startEmbeddedDynalite({ access: 'open' });
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
      await stop();
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
