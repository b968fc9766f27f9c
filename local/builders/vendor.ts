/**
 * Local mode's vendor and permit service: the same engine and budget the Lambdas run, on local mode's
 * store and credentials, allowing the simulator on loopback as an Identity endpoint.
 */
import { randomUUID } from 'node:crypto';
import { HttpIdentityClient } from '../../functions/adapters/http-identity-client.js';
import { marketoUsageReaders } from '../../functions/adapters/http-marketo-usage.js';
import { readBudgetConfig } from '../../functions/config.js';
import { buildUsageRecorder } from '../../functions/consumer-usage.js';
import { DEFAULT_IDENTITY_HOSTS, ENV } from '../../functions/contract/index.js';
import { createInstanceBudget } from '../../functions/core/budget/index.js';
import { shutdownAwareClock, systemClock } from '../../functions/core/clock.js';
import type { CredentialsSource } from '../../functions/core/ports.js';
import type { TokenVendor } from '../../functions/core/token-vendor-api.js';
import type { TokenVendorConfig } from '../../functions/core/vendor-config.js';
import { createPermitService, type PermitService } from '../../functions/http/permit-request.js';
import { coreLogger, coreMetrics, coreTelemetry, type Telemetry } from '../../functions/telemetry.js';
import { wireVendor } from '../../functions/wire-vendor.js';
import type { LocalStore } from './store.js';

/** Options of {@link buildVendor}. */
export interface LocalVendorWiring {
  readonly store: LocalStore;
  readonly credentials: CredentialsSource;
  readonly telemetry: Telemetry;
  /** Aborted when local mode stops: waits in the engine end at once. */
  readonly shutdown: AbortSignal;
  /** Lifespan of the simulator's tokens, in seconds. */
  readonly tokenLifespanSeconds: number;
  /** Engine overrides (tests). */
  readonly vendorConfig?: Partial<TokenVendorConfig>;
}

/** Marketo's hosts, plus the simulator on loopback over plain http (local mode only). */
const LOCAL_URL_POLICY = {
  allowedHosts: [...DEFAULT_IDENTITY_HOSTS, '127.0.0.1', 'localhost'],
  allowInsecureLoopback: true,
};

/** The token engine of local mode. */
export function buildVendor(wiring: LocalVendorWiring): TokenVendor {
  return wireVendor({
    store: wiring.store.tokens,
    credentials: wiring.credentials,
    identity: new HttpIdentityClient(),
    clock: shutdownAwareClock(wiring.shutdown),
    telemetry: coreTelemetry(wiring.telemetry),
    instanceId: `local-${process.pid}-${randomUUID().slice(0, 8)}`,
    config: {
      identityUrlPolicy: LOCAL_URL_POLICY,
      tokenLifespanSeconds: wiring.tokenLifespanSeconds,
      ...wiring.vendorConfig,
    },
  });
}

/** The Marketo API budget: permits on a budget table beside the token table (same dynalite or endpoint). */
export async function buildPermits(wiring: {
  readonly store: LocalStore;
  readonly budgetTableName: string;
  readonly credentials: CredentialsSource;
  /** The token engine: the vendor's own usage.json reads take their tokens from it. */
  readonly vendor: TokenVendor;
  readonly telemetry: Telemetry;
  /** Read for `BUDGET_LIMITS`, as the Lambda reads it. */
  readonly env: Readonly<Record<string, string | undefined>>;
}): Promise<PermitService> {
  const { budgetTableName, telemetry } = wiring;
  const store = await wiring.store.budgetStore(budgetTableName);
  return createPermitService({
    usage: buildUsageRecorder(store, wiring.credentials, telemetry),
    budget: createInstanceBudget(
      {
        store,
        clock: systemClock,
        metrics: coreMetrics(telemetry.metrics),
        logger: coreLogger(telemetry.logger),
      },
      // Per-instance limits as in the Lambda (`BUDGET_LIMITS`); the table is always there locally.
      (({ limits, reconcileIntervalMs }) => ({ limits, reconcileIntervalMs }))(
        readBudgetConfig({ ...wiring.env, [ENV.budgetTableName]: budgetTableName }),
      ),
    ),
    credentials: wiring.credentials,
    usageReader: marketoUsageReaders({
      vendor: wiring.vendor,
      credentials: wiring.credentials,
      urlPolicy: LOCAL_URL_POLICY,
    }),
  });
}
