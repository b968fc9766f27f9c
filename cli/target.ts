import { resolve } from 'node:path';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { DynamoBudgetStore } from '../functions/adapters/dynamo-budget-store.js';
import { DynamoBulkSlotStore } from '../functions/adapters/dynamo-bulk-slot-store.js';
import { DynamoTokenStore } from '../functions/adapters/dynamo-token-store.js';
import { FileCredentials, removeClient, upsertClient } from '../functions/adapters/file-credentials.js';
import { HttpIdentityClient } from '../functions/adapters/http-identity-client.js';
import {
  INSTANCE_TAG,
  SecretsManagerCredentials,
} from '../functions/adapters/secrets-manager-credentials.js';
import { DEFAULT_SECRET_PREFIX, ENV } from '../functions/contract/index.js';
import type { BudgetStore } from '../functions/core/budget/ports.js';
import type { UsageStore } from '../functions/core/budget/usage.js';
import type { BulkSlotStore } from '../functions/core/bulk/ports.js';
import type {
  ClientCredentials,
  CredentialsSource,
  IdentityClient,
  TokenStore,
} from '../functions/core/ports.js';
import { buildStore, type LocalStore } from '../local/builders/store.js';
import { secureDataDir } from '../local/data-dir.js';
import { privateFileCheck, UntrustedPathError } from '../local/file-trust.js';
import {
  DEFAULT_LOCAL_DATA_DIR,
  LOCAL_TABLE_NAME,
  localPaths,
  readLiveRuntimeInfo,
} from '../local/runtime-info.js';
import { runningStoreSocket } from '../local/store-socket.js';
import { CliError, usageError } from './errors.js';

/** Tag on every secret the CLI writes, so operators can tell them from hand-made ones. */
export const MANAGED_BY_TAG = { Key: 'managed-by', Value: 'marketo-token-vendor-cli' } as const;

/** Global options, as commander parses them. */
export interface GlobalOptions {
  readonly region?: string;
  readonly profile?: string;
  readonly prefix?: string;
  readonly table?: string;
  /** The Marketo API budget's table (`instances` commands). */
  readonly budgetTable?: string;
  readonly local?: boolean;
  readonly dataDir?: string;
  readonly endpointDynamodb?: string;
  readonly endpointSecretsManager?: string;
}

/** What `remove` did to the registration. */
export interface RemovedRegistration {
  /** e.g. "scheduled for deletion on 2026-05-01T…; restore with …" */
  readonly detail: string;
}

/** Where client registrations live: Secrets Manager in AWS, the credentials file locally. */
export interface ClientRegistry {
  /** One line naming the place, for output ("Secrets Manager, prefix …"). */
  readonly description: string;
  /** How the registration of `clientId` is named in messages ("secret <prefix><id>"). */
  whereIs(clientId: string): string;
  /** Reads registrations (the same adapter the Lambdas use). */
  readonly credentials: CredentialsSource;
  /** Creates or replaces a registration. */
  save(record: ClientCredentials, options: { readonly kmsKeyId?: string }): Promise<'created' | 'updated'>;
  /** Removes a registration; `undefined` when there was none. */
  remove(
    clientId: string,
    options: { readonly recoveryWindowDays: number; readonly forceDeleteWithoutRecovery: boolean },
  ): Promise<RemovedRegistration | undefined>;
}

/** Everything a command needs; `close()` releases clients and, in local mode, the embedded store. */
export interface Target {
  readonly mode: 'aws' | 'local';
  readonly registry: ClientRegistry;
  readonly identity: IdentityClient;
  /** The token store; opened on first use (local mode may start dynalite for it). */
  store(): Promise<TokenStore>;
  /** Human-readable location of the token store. */
  storeDescription(): string;
  /** The Marketo API budget's store, with usage per consumer beside it (`instances` commands). */
  budgetStore(): Promise<BudgetStore & UsageStore>;
  /** The Bulk API slots' items in the budget table (`instances status`). */
  bulkSlotStore(): Promise<BulkSlotStore>;
  close(): Promise<void>;
}

const errorName = (error: unknown): string => (error instanceof Error ? error.name : 'Error');
const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Wraps an SDK failure with what was being done; the service's message names the cause. */
const awsFailure = (what: string, error: unknown): CliError =>
  new CliError(`${what} failed: ${errorName(error)}: ${errorMessage(error)}`);

class SecretsManagerRegistry implements ClientRegistry {
  readonly credentials: CredentialsSource;
  readonly description: string;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly prefix: string,
  ) {
    // No cache: every CLI command must see the current secret.
    this.credentials = new SecretsManagerCredentials({ client, prefix, cacheTtlMs: 0 });
    this.description = `Secrets Manager, prefix ${prefix}`;
  }

  whereIs(clientId: string): string {
    return `secret ${this.prefix}${clientId}`;
  }

  async save(
    record: ClientCredentials,
    options: { readonly kmsKeyId?: string },
  ): Promise<'created' | 'updated'> {
    const name = `${this.prefix}${record.clientId}`;
    const secretString = JSON.stringify(record);
    const tags = [
      MANAGED_BY_TAG,
      ...(record.instance === undefined ? [] : [{ Key: INSTANCE_TAG, Value: record.instance }]),
    ];
    try {
      await this.client.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: secretString,
          Description: `Marketo Custom Service ${record.clientId} (marketo-token-vendor)`,
          Tags: tags,
          ...(options.kmsKeyId === undefined ? {} : { KmsKeyId: options.kmsKeyId }),
        }),
      );
      return 'created';
    } catch (error) {
      const name_ = errorName(error);
      if (name_ === 'InvalidRequestException' && /deletion/i.test(errorMessage(error))) {
        throw new CliError(
          `secret ${name} is scheduled for deletion — restore it first (aws secretsmanager restore-secret --secret-id ${name}) or wait until it is deleted`,
        );
      }
      if (name_ !== 'ResourceExistsException') throw awsFailure(`creating secret ${name}`, error);
    }
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: secretString }));
      await this.client.send(new TagResourceCommand({ SecretId: name, Tags: tags }));
      if (record.instance === undefined) {
        // The client left its pool: drop a stale instance tag, or the refresher would still pool it.
        const described = await this.client.send(new DescribeSecretCommand({ SecretId: name }));
        if (described.Tags?.some((tag) => tag.Key === INSTANCE_TAG)) {
          await this.client.send(new UntagResourceCommand({ SecretId: name, TagKeys: [INSTANCE_TAG] }));
        }
      }
    } catch (error) {
      throw awsFailure(`updating secret ${name}`, error);
    }
    return 'updated';
  }

  async remove(
    clientId: string,
    options: { readonly recoveryWindowDays: number; readonly forceDeleteWithoutRecovery: boolean },
  ): Promise<RemovedRegistration | undefined> {
    const name = `${this.prefix}${clientId}`;
    try {
      const result = await this.client.send(
        new DeleteSecretCommand({
          SecretId: name,
          ...(options.forceDeleteWithoutRecovery
            ? { ForceDeleteWithoutRecovery: true }
            : { RecoveryWindowInDays: options.recoveryWindowDays }),
        }),
      );
      if (options.forceDeleteWithoutRecovery) return { detail: `secret ${name} deleted without recovery` };
      const when = result.DeletionDate?.toISOString() ?? `in ${options.recoveryWindowDays} days`;
      return {
        detail: `secret ${name} scheduled for deletion on ${when}; until then restore it with: aws secretsmanager restore-secret --secret-id ${name}`,
      };
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return undefined;
      if (errorName(error) === 'InvalidRequestException' && /deletion/i.test(errorMessage(error))) {
        return { detail: `secret ${name} was already scheduled for deletion` };
      }
      throw awsFailure(`deleting secret ${name}`, error);
    }
  }
}

class FileRegistry implements ClientRegistry {
  readonly credentials: CredentialsSource;
  readonly description: string;

  constructor(private readonly path: string) {
    this.credentials = new FileCredentials({
      path,
      verifyFile: privateFileCheck('credentials file', (message) =>
        process.stderr.write(`warning: ${message}\n`),
      ),
    });
    this.description = `local credentials file ${path}`;
  }

  whereIs(clientId: string): string {
    return `client ${clientId} in ${this.path}`;
  }

  save(record: ClientCredentials): Promise<'created' | 'updated'> {
    return upsertClient(this.path, record);
  }

  async remove(clientId: string): Promise<RemovedRegistration | undefined> {
    return (await removeClient(this.path, clientId))
      ? { detail: `removed from ${this.path} (no recovery window in local mode)` }
      : undefined;
  }
}

/** Runs `work`; a directory, file or socket local mode does not trust becomes the CLI's one-line error. */
async function untrustedAsCliError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UntrustedPathError) throw new CliError(`refusing: ${error.message}`);
    throw error;
  }
}

function awsConfig(options: GlobalOptions): { region?: string; profile?: string } {
  return {
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.profile === undefined ? {} : { profile: options.profile }),
  };
}

/**
 * Builds the target from global options. AWS mode uses the default credential chain (or `--profile`)
 * and honours `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SECRETS_MANAGER` through the SDK itself;
 * `--endpoint-*` override them. Local mode uses a running `npm start`'s store when `runtime.json` names a
 * live process, else opens `<data-dir>/dynalite` itself.
 */
export async function openTarget(
  options: GlobalOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Target> {
  const identity = new HttpIdentityClient();
  if (options.local) return openLocalTarget(options, identity);

  const base = { ...awsConfig(options), maxAttempts: 3 };
  const secretsConfig: SecretsManagerClientConfig = {
    ...base,
    ...(options.endpointSecretsManager === undefined ? {} : { endpoint: options.endpointSecretsManager }),
  };
  const secrets = new SecretsManagerClient(secretsConfig);
  const prefix = options.prefix ?? env[ENV.secretPrefix] ?? DEFAULT_SECRET_PREFIX;
  const tableName = options.table ?? env[ENV.tableName];
  let dynamo: DynamoDBClient | undefined;
  /** The budget table (`--budget-table` or BUDGET_TABLE_NAME) on the command's DynamoDB client. */
  const budgetTable = () => {
    const name = options.budgetTable ?? env[ENV.budgetTableName];
    if (name === undefined || name === '') {
      throw usageError(
        'no budget table — pass --budget-table <name> or set BUDGET_TABLE_NAME (the BudgetTable of the stack)',
      );
    }
    dynamo ??= new DynamoDBClient({
      ...base,
      ...(options.endpointDynamodb === undefined ? {} : { endpoint: options.endpointDynamodb }),
    });
    return { client: dynamo, tableName: name };
  };
  return {
    mode: 'aws',
    registry: new SecretsManagerRegistry(secrets, prefix),
    identity,
    async store() {
      if (tableName === undefined || tableName === '') {
        throw usageError(
          'no token table — pass --table <name> or set TABLE_NAME (the stack output TableName)',
        );
      }
      const dynamoConfig: DynamoDBClientConfig = {
        ...base,
        ...(options.endpointDynamodb === undefined ? {} : { endpoint: options.endpointDynamodb }),
      };
      dynamo ??= new DynamoDBClient(dynamoConfig);
      return new DynamoTokenStore({ client: dynamo, tableName });
    },
    storeDescription: () => `DynamoDB table ${tableName ?? '(unset)'}`,
    async budgetStore() {
      return new DynamoBudgetStore(budgetTable());
    },
    async bulkSlotStore() {
      return new DynamoBulkSlotStore(budgetTable());
    },
    async close() {
      secrets.destroy();
      dynamo?.destroy();
    },
  };
}

async function openLocalTarget(options: GlobalOptions, identity: IdentityClient): Promise<Target> {
  const dataDir = resolve(options.dataDir ?? DEFAULT_LOCAL_DATA_DIR);
  const paths = localPaths(dataDir);
  // Another user's data directory, runtime.json or store socket is refused (local/file-trust.ts); else 0700
  // directory, 0600 files, on every run (local/data-dir.ts), with a warning if credentials were readable.
  const { running, runningSocket } = await untrustedAsCliError(async () => {
    for (const warning of (await secureDataDir(dataDir)).warnings)
      process.stderr.write(`warning: ${warning}\n`);
    const live = await readLiveRuntimeInfo(dataDir);
    return {
      running: live,
      runningSocket: live === undefined ? undefined : await runningStoreSocket(live, paths.runtimeInfo),
    };
  });
  const credentialsFile = running?.credentialsFile ?? paths.credentialsFile;
  const tableName = options.table ?? running?.tableName ?? LOCAL_TABLE_NAME;
  let opened: Promise<LocalStore> | undefined;
  // npm start's store through its socket (proven to be this user's), or embedded dynalite opened for this
  // command (local/builders/store.ts, as npm start does).
  const open = () =>
    buildStore({
      dynaliteDir: paths.dynaliteDir,
      tableName,
      createTableTimeoutMs: 10_000,
      ...(runningSocket === undefined ? {} : { socket: runningSocket }),
    });
  return {
    mode: 'local',
    registry: new FileRegistry(credentialsFile),
    identity,
    async store() {
      opened ??= open();
      return (await opened).tokens;
    },
    async budgetStore() {
      opened ??= open();
      // Local mode keeps the budget beside the token table (local/server.ts).
      return (await opened).budgetStore(options.budgetTable ?? `${tableName}-budget`);
    },
    async bulkSlotStore() {
      opened ??= open();
      return (await opened).bulkSlotStore(options.budgetTable ?? `${tableName}-budget`);
    },
    storeDescription: () =>
      running === undefined
        ? `local store ${paths.dynaliteDir}, table ${tableName}`
        : `local store of npm start (pid ${running.pid}), table ${tableName}`,
    async close() {
      if (!opened) return;
      await (await opened.catch(() => undefined))?.close();
    },
  };
}
