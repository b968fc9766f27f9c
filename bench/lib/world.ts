/**
 * The loopback world of the benchmarks: dynalite (DynamoDB), the Secrets Manager stub and the Marketo
 * simulator, all on 127.0.0.1 with OS-chosen ports, driven by one offset clock so a benchmark can jump
 * past a token's expiry without waiting an hour. Vendors are built exactly as the Lambdas build them,
 * with the real adapters; only the endpoints differ.
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { SecretsManagerCredentials } from '../../functions/adapters/secrets-manager-credentials.js';
import type {
  ClientCredentials,
  CredentialsSource,
  IdentityClient,
  Logger,
  MetricsSink,
} from '../../functions/core/ports.js';
import type { TokenVendor, TokenVendorConfig } from '../../functions/core/vendor.js';
import { wireVendor } from '../../functions/wiring.js';
import { createMarketoSimulator, type MarketoSimulator } from '../../local/marketo-simulator.js';
import { createTestTable, type RunningDynalite, startDynalite } from '../../test/support/dynalite.js';
import { registerSensitive } from '../../test/support/leak-scan.js';
import { SkewableClock } from '../../test/support/loopback-world.js';
import { type SecretsManagerStub, startSecretsManagerStub } from '../../test/support/secrets-manager-stub.js';

/**
 * Engine configuration of the benchmarks: the production defaults (lease poll 100 ms, expiry slack
 * 2.5 s, rotation guard 5 s), except that Identity may be reached over http on loopback.
 */
export const BENCH_VENDOR_CONFIG: Partial<TokenVendorConfig> = {
  identityUrlPolicy: { allowedHosts: ['127.0.0.1'], allowInsecureLoopback: true },
};

/** SDK clients for loopback: dummy credentials, 2 attempts (as the Lambdas' FAST_SDK), a large socket pool. */
export function loopbackClients(
  endpoints: { readonly dynamo: string; readonly secrets: string },
  maxSockets = 256,
): { dynamo: DynamoDBClient; secrets: SecretsManagerClient } {
  const common = {
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 2,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets }) },
  };
  return {
    dynamo: new DynamoDBClient({ ...common, endpoint: endpoints.dynamo }),
    secrets: new SecretsManagerClient({ ...common, endpoint: endpoints.secrets }),
  };
}

/** Options of {@link startBenchWorld}. */
export interface BenchWorldOptions {
  /** Simulator token lifespan. @default 3600 */
  readonly lifespanSeconds?: number;
  /** Simulator Identity latency. @default 0 */
  readonly identityLatencyMs?: number;
  /** Secrets Manager ListSecrets page size when none is asked (AWS allows up to 100). @default 100 */
  readonly listPageSize?: number;
  /** How much faster than real time the shared clock runs (Identity latency stays real). @default 1 */
  readonly speed?: number;
}

/** A running loopback world. */
export interface BenchWorld {
  readonly clock: SkewableClock;
  readonly dynamo: RunningDynalite;
  readonly secrets: SecretsManagerStub;
  readonly simulator: MarketoSimulator;
  readonly tableName: string;
  readonly clients: { readonly dynamo: DynamoDBClient; readonly secrets: SecretsManagerClient };
  /** Registers a client in Secrets Manager and the simulator (random secret); returns its record. */
  register(clientId: string, options?: { readonly instance?: string }): ClientCredentials;
  /**
   * A new vendor instance, as a fresh Lambda would have: its own memory, single flight and secret
   * cache; SDK clients (and their sockets) are shared, as a warm execution environment's would be.
   */
  vendor(options?: {
    readonly config?: Partial<TokenVendorConfig>;
    readonly identity?: IdentityClient;
    readonly instanceId?: string;
    readonly logger?: Logger;
    readonly metrics?: MetricsSink;
    /** @default a new SecretsManagerCredentials on the stub (empty secret cache) */
    readonly credentials?: CredentialsSource;
  }): TokenVendor;
  stop(): Promise<void>;
}

/** Starts dynalite, the Secrets Manager stub and the simulator on loopback, and creates the table. */
export async function startBenchWorld(options: BenchWorldOptions = {}): Promise<BenchWorld> {
  const clock = new SkewableClock(options.speed);
  const [dynamo, secrets] = await Promise.all([
    startDynalite(),
    startSecretsManagerStub({ defaultPageSize: options.listPageSize ?? 100 }),
  ]);
  const simulator = createMarketoSimulator({
    now: clock.now,
    tokenLifespanSeconds: options.lifespanSeconds ?? 3600,
    latencyMs: options.identityLatencyMs ?? 0,
  });
  await simulator.start();
  const tableName = await createTestTable(dynamo.client, `bench-${process.pid}-${randomUUID().slice(0, 8)}`);
  const clients = loopbackClients({ dynamo: dynamo.endpoint, secrets: secrets.endpoint });
  const store = new DynamoTokenStore({ client: clients.dynamo, tableName });
  let instances = 0;
  return {
    clock,
    dynamo,
    secrets,
    simulator,
    tableName,
    clients,
    register(clientId, registerOptions = {}) {
      const record: ClientCredentials = {
        clientId,
        clientSecret: `bench-secret-${randomUUID()}`,
        identityUrl: simulator.identityUrl,
        ...(registerOptions.instance === undefined ? {} : { instance: registerOptions.instance }),
      };
      registerSensitive(record.clientSecret);
      simulator.addClient({ clientId, clientSecret: record.clientSecret });
      secrets.putClientSecret(record);
      return record;
    },
    vendor(vendorOptions = {}) {
      instances += 1;
      return wireVendor({
        store,
        credentials:
          vendorOptions.credentials ??
          new SecretsManagerCredentials({ client: clients.secrets, now: clock.now }),
        ...(vendorOptions.identity === undefined ? {} : { identity: vendorOptions.identity }),
        clock,
        instanceId: vendorOptions.instanceId ?? `bench-${instances}`,
        telemetry: {
          ...(vendorOptions.logger === undefined ? {} : { logger: vendorOptions.logger }),
          ...(vendorOptions.metrics === undefined ? {} : { metrics: vendorOptions.metrics }),
        },
        config: { ...BENCH_VENDOR_CONFIG, ...vendorOptions.config },
      });
    },
    async stop() {
      registerSensitive(...simulator.issuedTokens());
      clients.dynamo.destroy();
      clients.secrets.destroy();
      await Promise.all([simulator.stop(), dynamo.stop(), secrets.stop()]);
    },
  };
}
