import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoTokenStore } from './adapters/dynamo-token-store.js';
import { HttpIdentityClient } from './adapters/http-identity-client.js';
import { systemClock } from './core/clock.js';
import type {
  Clock,
  CredentialsSource,
  IdentityClient,
  Logger,
  MetricsSink,
  TokenStore,
} from './core/ports.js';
import { createTokenVendor } from './core/token-vendor.js';
import type { TokenVendor } from './core/token-vendor-api.js';
import type { TokenVendorConfig } from './core/vendor-config.js';

/** The token table: a ready store, or the DynamoDB client and table name to build one on. */
export type StoreWiring = TokenStore | { readonly dynamo: DynamoDBClient; readonly tableName: string };

/** Everything a vendor is made of. Only the store and the credentials source have no default. */
export interface VendorWiring {
  readonly store: StoreWiring;
  readonly credentials: CredentialsSource;
  /** @default Marketo Identity over HTTPS (`HttpIdentityClient`) on {@link clock} */
  readonly identity?: IdentityClient;
  /** @default the system clock */
  readonly clock?: Clock;
  /** The core's telemetry ports (`coreTelemetry(createTelemetry())` in the Lambdas). @default silent */
  readonly telemetry?: { readonly logger?: Logger; readonly metrics?: MetricsSink };
  /** Lease owner id. @default a random id */
  readonly instanceId?: string;
  /** Engine settings (`readRuntimeConfig().vendor` in the Lambdas). @default the core's defaults */
  readonly config?: Partial<TokenVendorConfig>;
}

const isTokenStore = (store: StoreWiring): store is TokenStore => !('dynamo' in store);

/** The token store: the one given, or DynamoDB on the client and table given (item times on `clock`). */
export function buildTokenStore(store: StoreWiring, clock: Clock): TokenStore {
  if (isTokenStore(store)) return store;
  return new DynamoTokenStore({ client: store.dynamo, tableName: store.tableName, now: clock.now });
}

/**
 * The one place a vendor is assembled from SDK clients, sources, telemetry and config: the Lambda runtime
 * (functions/aws-vendor.ts), local mode, the CLI, the reliability harness and the bench world all call it, so
 * a new dependency of the engine is wired once.
 */
export function wireVendor(wiring: VendorWiring): TokenVendor {
  const clock = wiring.clock ?? systemClock;
  const { logger, metrics } = wiring.telemetry ?? {};
  return createTokenVendor(
    {
      store: buildTokenStore(wiring.store, clock),
      credentials: wiring.credentials,
      identity: wiring.identity ?? new HttpIdentityClient({ now: clock.now }),
      clock,
      ...(logger === undefined ? {} : { logger }),
      ...(metrics === undefined ? {} : { metrics }),
      ...(wiring.instanceId === undefined ? {} : { instanceId: wiring.instanceId }),
    },
    wiring.config ?? {},
  );
}
