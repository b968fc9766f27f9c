/**
 * The one loopback world of the tests and the benchmarks: dynalite (DynamoDB), the Secrets Manager stub and
 * the Marketo simulator, all on 127.0.0.1 with OS-chosen ports, the real SDK clients and the real adapters;
 * only the endpoints differ from AWS. One clock drives the vendors and the simulator's token expiry:
 *
 * - a {@link SkewableClock} (default): real time, moved forward with `offsetMs`, optionally `speed` times faster;
 * - a {@link VirtualClock}: virtual time that waits for the vendors' I/O (their ports are tracked), so a test
 *   sees the same order of events on any machine.
 *
 * Vendors are independent instances, as separate Lambdas would be: each has its own memory, single flight
 * and secret cache; SDK clients (and their sockets) are shared, as a warm execution environment's would be.
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoTokenStore } from '../functions/adapters/dynamo-token-store.js';
import { HttpIdentityClient } from '../functions/adapters/http-identity-client.js';
import { SecretsManagerCredentials } from '../functions/adapters/secrets-manager-credentials.js';
import type {
  ClientCredentials,
  Clock,
  CredentialsSource,
  IdentityClient,
  Logger,
  MetricsSink,
  TokenStore,
} from '../functions/core/ports.js';
import type { TokenVendor } from '../functions/core/token-vendor-api.js';
import type { TokenVendorConfig } from '../functions/core/vendor-config.js';
import { wireVendor } from '../functions/wire-vendor.js';
import { createMarketoSimulator, type MarketoSimulator } from '../local/marketo-simulator.js';
import { SkewableClock, VirtualClock } from './clocks.js';
import { createTestTable, type RunningDynalite, startDynalite } from './dynalite.js';
import { registerSensitive } from './leak-scan.js';
import { type SecretsManagerStub, startSecretsManagerStub } from './secrets-manager-stub.js';

/** Engine settings that let Identity be reached over http on loopback (production defaults otherwise). */
export const LOOPBACK_IDENTITY: Partial<TokenVendorConfig> = {
  identityUrlPolicy: { allowedHosts: ['127.0.0.1'], allowInsecureLoopback: true },
};

/** The tests' engine settings: loopback Identity, and short lease polls and expiry slack so rows run fast. */
export const LOOPBACK_VENDOR_CONFIG: Partial<TokenVendorConfig> = {
  ...LOOPBACK_IDENTITY,
  leasePollMs: 20,
  expirySlackMs: 300,
};

/** SDK clients for loopback: dummy credentials, `maxAttempts` attempts, a large keep-alive socket pool. */
export function loopbackClients(
  endpoints: { readonly dynamo: string; readonly secrets: string },
  options: { readonly maxAttempts?: number; readonly maxSockets?: number } = {},
): { dynamo: DynamoDBClient; secrets: SecretsManagerClient } {
  const common = {
    region: 'us-east-1',
    credentials: { accessKeyId: 'loopback', secretAccessKey: 'loopback' },
    maxAttempts: options.maxAttempts ?? 2,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 }) },
  };
  return {
    dynamo: new DynamoDBClient({ ...common, endpoint: endpoints.dynamo }),
    secrets: new SecretsManagerClient({ ...common, endpoint: endpoints.secrets }),
  };
}

/** Options of {@link startWorld}. */
export interface WorldOptions {
  /** Simulator token lifespan. @default 3600 */
  readonly lifespanSeconds?: number;
  /** Simulator: how long before expiry Identity still hands out the dying token. @default 0 */
  readonly expiryEdgeMs?: number;
  /** Simulator Identity latency (real time). @default 0 */
  readonly identityLatencyMs?: number;
  /** Secrets Manager ListSecrets page size when none is asked (AWS allows up to 100). @default 100 */
  readonly listPageSize?: number;
  /** How much faster than real time the skewable clock runs (Identity latency stays real). @default 1 */
  readonly speed?: number;
  /** Virtual time instead of the skewable clock (then `speed` does not apply). */
  readonly clock?: VirtualClock;
  /** Engine settings every vendor starts from. @default {@link LOOPBACK_VENDOR_CONFIG} */
  readonly vendorDefaults?: Partial<TokenVendorConfig>;
  /**
   * Attempts of the shared SDK clients. @default 2, as the Lambdas: a keep-alive socket the server closed
   * just then (ECONNRESET) is retried, not failed. Fault rows use their own one-attempt clients.
   */
  readonly sdkMaxAttempts?: number;
}

/** What a vendor instance may replace. */
export interface VendorOptions {
  /** @default the world's clock (a skewed one models a Lambda whose clock drifts) */
  readonly clock?: Clock;
  /** @default a DynamoTokenStore on the world's table */
  readonly store?: TokenStore;
  /** Over the world's `vendorDefaults`. */
  readonly config?: Partial<TokenVendorConfig>;
  /** @default the real HTTP Identity client */
  readonly identity?: IdentityClient;
  /** @default a new SecretsManagerCredentials on the stub (empty secret cache) */
  readonly credentials?: CredentialsSource;
  readonly instanceId?: string;
  readonly logger?: Logger;
  readonly metrics?: MetricsSink;
}

/** A running loopback world. */
export interface World<C extends Clock = SkewableClock> {
  readonly clock: C;
  readonly dynamo: RunningDynalite;
  readonly secrets: SecretsManagerStub;
  readonly simulator: MarketoSimulator;
  readonly tableName: string;
  /** The shared SDK clients vendors use. */
  readonly clients: { readonly dynamo: DynamoDBClient; readonly secrets: SecretsManagerClient };
  /** Registers a client in Secrets Manager and the simulator (random secret, leak-scanned); returns its record. */
  register(clientId: string, options?: { readonly instance?: string }): ClientCredentials;
  /** Registers a client under a name no other test of this world uses (`${prefix}-${n}`); returns its id. */
  newClient(prefix?: string): string;
  /** A new vendor instance, as a fresh Lambda would have. */
  vendor(options?: VendorOptions): TokenVendor;
  /** A token store on the world's table. */
  store(): DynamoTokenStore;
  stop(): Promise<void>;
}

/** Starts dynalite, the Secrets Manager stub and the simulator on loopback, and creates the table. */
export async function startWorld(options?: WorldOptions & { readonly clock?: undefined }): Promise<World>;
export async function startWorld(
  options: WorldOptions & { readonly clock: VirtualClock },
): Promise<World<VirtualClock>>;
export async function startWorld(options: WorldOptions = {}): Promise<World<Clock>> {
  const clock: SkewableClock | VirtualClock = options.clock ?? new SkewableClock(options.speed);
  const tracked = <T extends object>(port: T): T =>
    clock instanceof VirtualClock ? clock.track(port) : port;
  const [dynamo, secrets] = await Promise.all([
    startDynalite(),
    startSecretsManagerStub({ defaultPageSize: options.listPageSize ?? 100 }),
  ]);
  const simulator = createMarketoSimulator({
    now: clock.now,
    tokenLifespanSeconds: options.lifespanSeconds ?? 3600,
    expiryEdgeMs: options.expiryEdgeMs ?? 0,
    latencyMs: options.identityLatencyMs ?? 0,
  });
  await simulator.start();
  const tableName = await createTestTable(dynamo.client, `world-${process.pid}-${randomUUID().slice(0, 8)}`);
  const clients = loopbackClients(
    { dynamo: dynamo.endpoint, secrets: secrets.endpoint },
    { maxAttempts: options.sdkMaxAttempts ?? 2 },
  );
  const store = (): DynamoTokenStore => new DynamoTokenStore({ client: clients.dynamo, tableName });
  const vendorDefaults = options.vendorDefaults ?? LOOPBACK_VENDOR_CONFIG;
  let instances = 0;
  let clientsRegistered = 0;
  const register: World['register'] = (clientId, registration = {}) => {
    const record: ClientCredentials = {
      clientId,
      clientSecret: `loopback-secret-${randomUUID()}`,
      identityUrl: simulator.identityUrl,
      ...(registration.instance === undefined ? {} : { instance: registration.instance }),
    };
    registerSensitive(record.clientSecret);
    simulator.addClient({ clientId, clientSecret: record.clientSecret });
    secrets.putClientSecret(record);
    return record;
  };
  return {
    clock,
    dynamo,
    secrets,
    simulator,
    tableName,
    clients,
    store,
    register,
    newClient(prefix = 'client') {
      clientsRegistered += 1;
      const clientId = `${prefix}-${clientsRegistered}`;
      register(clientId);
      return clientId;
    },
    vendor(vendor = {}) {
      instances += 1;
      const vendorClock = vendor.clock ?? clock;
      return wireVendor({
        store: tracked(vendor.store ?? store()),
        credentials: tracked(
          vendor.credentials ??
            new SecretsManagerCredentials({ client: clients.secrets, now: vendorClock.now }),
        ),
        identity: tracked(vendor.identity ?? new HttpIdentityClient({ now: vendorClock.now })),
        clock: vendorClock,
        instanceId: vendor.instanceId ?? `loopback-${instances}`,
        telemetry: {
          ...(vendor.logger === undefined ? {} : { logger: vendor.logger }),
          ...(vendor.metrics === undefined ? {} : { metrics: vendor.metrics }),
        },
        config: { ...vendorDefaults, ...vendor.config },
      });
    },
    async stop() {
      // In slices: a benchmark's hundreds of thousands of tokens would overflow one call's arguments.
      const issued = simulator.issuedTokens();
      for (let i = 0; i < issued.length; i += 10_000) registerSensitive(...issued.slice(i, i + 10_000));
      clients.dynamo.destroy();
      clients.secrets.destroy();
      await Promise.all([simulator.stop(), dynamo.stop(), secrets.stop()]);
    },
  };
}
