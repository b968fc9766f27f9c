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

/** Everything a vendor is made of. Only the store and the credentials source have no default. */
export interface VendorWiring {
  /** The token table (each caller builds its own: the vend function's loads no SDK client until it writes). */
  readonly store: TokenStore;
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
      store: wiring.store,
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
