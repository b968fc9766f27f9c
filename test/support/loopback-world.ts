import { randomUUID } from 'node:crypto';
import { DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { HttpIdentityClient } from '../../functions/adapters/http-identity-client.js';
import { SecretsManagerCredentials } from '../../functions/adapters/secrets-manager-credentials.js';
import { systemClock } from '../../functions/core/clock.js';
import type { Clock, Logger } from '../../functions/core/ports.js';
import { createTokenVendor } from '../../functions/core/token-vendor.js';
import type { TokenVendor, TokenVendorConfig } from '../../functions/core/vendor.js';
import { createMarketoSimulator, type MarketoSimulator } from '../../local/marketo-simulator.js';
import { createTestTable, type RunningDynalite, startDynalite } from './dynalite.js';
import { registerSensitive } from './leak-scan.js';
import { type SecretsManagerStub, startSecretsManagerStub } from './secrets-manager-stub.js';
import { VirtualClock } from './virtual-clock.js';

/**
 * A clock shared by the vendors and the simulator (token expiry) that can be moved forward (`offsetMs`)
 * and can run faster than real time (`speed`), so several token lifespans pass in seconds.
 */
export class SkewableClock implements Clock {
  offsetMs = 0;
  private readonly startedAt = Date.now();
  constructor(private readonly speed = 1) {}
  now = (): number => this.startedAt + (Date.now() - this.startedAt) * this.speed + this.offsetMs;
  sleep = (ms: number, signal?: AbortSignal): Promise<void> => systemClock.sleep(ms / this.speed, signal);
}

/** Loopback configuration the real adapters need: Identity on 127.0.0.1 over http, short waits. */
export const LOOPBACK_VENDOR_CONFIG: Partial<TokenVendorConfig> = {
  identityUrlPolicy: { allowedHosts: ['127.0.0.1'], allowInsecureLoopback: true },
  leasePollMs: 20,
  expirySlackMs: 300,
};

/**
 * Real SDK clients against loopback stand-ins: dynalite (DynamoDB), a Secrets Manager JSON-protocol
 * stub and the Marketo simulator. Vendors are independent instances, as separate Lambdas would be.
 */
export interface LoopbackWorld<C extends Clock = SkewableClock> {
  readonly clock: C;
  readonly dynamo: RunningDynalite;
  readonly secrets: SecretsManagerStub;
  readonly simulator: MarketoSimulator;
  readonly tableName: string;
  /** Registers a client in Secrets Manager and the simulator; returns its secret. */
  registerClient(clientId: string, options?: { instance?: string }): string;
  /** A new vendor instance (its own memory cache and in-process single flight). */
  vendor(config?: Partial<TokenVendorConfig>, logger?: Logger): TokenVendor;
  store(): DynamoTokenStore;
  stop(): Promise<void>;
}

export async function startLoopbackWorld(options?: {
  lifespanSeconds?: number;
  expiryEdgeMs?: number;
  speed?: number;
}): Promise<LoopbackWorld>;
/** The same world on a {@link VirtualClock}: vendors' ports are tracked, so time waits for their I/O. */
export async function startLoopbackWorld(options: {
  lifespanSeconds?: number;
  expiryEdgeMs?: number;
  clock: VirtualClock;
}): Promise<LoopbackWorld<VirtualClock>>;
export async function startLoopbackWorld(
  options: { lifespanSeconds?: number; expiryEdgeMs?: number; speed?: number; clock?: VirtualClock } = {},
): Promise<LoopbackWorld<Clock>> {
  const clock: Clock = options.clock ?? new SkewableClock(options.speed);
  const tracked = <T extends object>(port: T): T =>
    clock instanceof VirtualClock ? clock.track(port) : port;
  const [dynamo, secrets] = await Promise.all([startDynalite(), startSecretsManagerStub()]);
  const simulator = createMarketoSimulator({
    now: clock.now,
    tokenLifespanSeconds: options.lifespanSeconds ?? 3600,
    expiryEdgeMs: options.expiryEdgeMs ?? 0,
  });
  await simulator.start();
  const tableName = await createTestTable(dynamo.client);
  const store = () => new DynamoTokenStore({ client: dynamo.client, tableName });
  let instances = 0;
  return {
    clock,
    dynamo,
    secrets,
    simulator,
    tableName,
    store,
    registerClient(clientId, registration = {}) {
      const clientSecret = `sim-secret-${randomUUID()}`;
      registerSensitive(clientSecret);
      simulator.addClient({ clientId, clientSecret });
      secrets.putClientSecret(
        { clientId, clientSecret, identityUrl: simulator.identityUrl, ...registration },
        registration.instance === undefined ? {} : { instance: registration.instance },
      );
      return clientSecret;
    },
    vendor(config = {}, logger) {
      instances += 1;
      return createTokenVendor(
        {
          store: tracked(store()),
          credentials: tracked(new SecretsManagerCredentials({ client: secrets.client, now: clock.now })),
          identity: tracked(new HttpIdentityClient({ now: clock.now })),
          clock,
          instanceId: `loopback-${instances}`,
          ...(logger === undefined ? {} : { logger }),
        },
        { ...LOOPBACK_VENDOR_CONFIG, ...config },
      );
    },
    async stop() {
      registerSensitive(...simulator.issuedTokens());
      await Promise.all([simulator.stop(), dynamo.stop(), secrets.stop()]);
    },
  };
}
