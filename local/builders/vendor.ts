/**
 * Local mode's vendor and permit service: the same engine and budget the Lambdas run, on local mode's
 * store and credentials, allowing the simulator on loopback as an Identity endpoint.
 */
import { randomUUID } from 'node:crypto';
import { HttpIdentityClient } from '../../functions/adapters/http-identity-client.js';
import { readBudgetConfig } from '../../functions/config.js';
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
      // Marketo's hosts, plus the simulator on loopback over plain http (local mode only).
      identityUrlPolicy: {
        allowedHosts: [...DEFAULT_IDENTITY_HOSTS, '127.0.0.1', 'localhost'],
        allowInsecureLoopback: true,
      },
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
  readonly telemetry: Telemetry;
  /** Read for `BUDGET_LIMITS`, as the Lambda reads it. */
  readonly env: Readonly<Record<string, string | undefined>>;
}): Promise<PermitService> {
  const { budgetTableName, telemetry } = wiring;
  return createPermitService({
    budget: createInstanceBudget(
      {
        store: await wiring.store.budgetStore(budgetTableName),
        clock: systemClock,
        metrics: coreMetrics(telemetry.metrics),
        logger: coreLogger(telemetry.logger),
      },
      // Per-instance limits as in the Lambda (`BUDGET_LIMITS`); the table is always there locally.
      { limits: readBudgetConfig({ ...wiring.env, [ENV.budgetTableName]: budgetTableName }).limits },
    ),
    credentials: wiring.credentials,
  });
}
